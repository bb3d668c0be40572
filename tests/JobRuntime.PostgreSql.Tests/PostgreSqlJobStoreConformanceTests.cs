using JobRuntime.TestSupport;
using JobRuntime.Testing;
using JobRuntime.Storage;

namespace JobRuntime.PostgreSql.Tests;

public sealed class PostgreSqlJobStoreConformanceTests : JobStoreConformanceTests
{
    protected override async Task<IJobStore> CreateStore(TimeProvider timeProvider)
    {
        var server = await PostgresServer.GetAsync();
        var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = PostgresServer.NewSchema() }, timeProvider);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }
}

public sealed class PostgreSqlJobStoreScheduleTests : JobStoreScheduleConformanceTests
{
    protected override async Task<IJobStore> CreateStore(TimeProvider timeProvider)
    {
        var server = await PostgresServer.GetAsync();
        var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = PostgresServer.NewSchema() }, timeProvider);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }
}
