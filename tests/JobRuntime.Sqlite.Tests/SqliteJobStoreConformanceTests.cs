using JobRuntime.Storage;
using JobRuntime.Testing;

namespace JobRuntime.Sqlite.Tests;

public sealed class SqliteJobStoreConformanceTests : JobStoreConformanceTests
{
    private readonly TempDatabase _database = new();

    protected override Task<IJobStore> CreateStore(TimeProvider timeProvider) => _database.OpenStoreAsync(timeProvider);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }
}

public sealed class SqliteJobStoreScheduleTests : JobStoreScheduleConformanceTests
{
    private readonly TempDatabase _database = new();

    protected override Task<IJobStore> CreateStore(TimeProvider timeProvider) => _database.OpenStoreAsync(timeProvider);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }
}
