using Microsoft.Extensions.DependencyInjection;
using JobRuntime.TestSupport;

namespace JobRuntime.PostgreSql.Tests;

public sealed class PostgreSqlBatchTests : BatchScenarioTests
{
    protected override async Task UseStoreAsync(JobRuntimeBuilder builder)
    {
        var server = await PostgresServer.GetAsync();
        builder.UsePostgreSql(o =>
        {
            o.ConnectionString = server.ConnectionString;
            o.Schema = PostgresServer.NewSchema();
        });
    }
}
