using Microsoft.Extensions.DependencyInjection;
using JobRuntime.TestSupport;

namespace JobRuntime.Sqlite.Tests;

public sealed class SqliteBatchTests : BatchScenarioTests, IDisposable
{
    private readonly TempDatabase _database = new();

    protected override Task UseStoreAsync(JobRuntimeBuilder builder)
    {
        builder.UseSqlite(o => o.ConnectionString = _database.ConnectionString);
        return Task.CompletedTask;
    }

    public void Dispose() => _database.Dispose();
}
