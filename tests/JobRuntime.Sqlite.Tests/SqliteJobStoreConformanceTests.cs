using JobRuntime.Storage;
using JobRuntime.Testing;

namespace JobRuntime.Sqlite.Tests;

public sealed class SqliteJobStoreConformanceTests : JobStoreConformanceTests
{
    private readonly TempDatabase _database = new();

    protected override async Task<IJobStore> CreateStore(TimeProvider timeProvider)
    {
        var store = new SqliteJobStore(_database.Options(), timeProvider);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }
}

public sealed class SqliteJobStoreScheduleTests : JobStoreScheduleConformanceTests
{
    private readonly TempDatabase _database = new();

    protected override async Task<IJobStore> CreateStore(TimeProvider timeProvider)
    {
        var store = new SqliteJobStore(_database.Options(), timeProvider);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }
}
