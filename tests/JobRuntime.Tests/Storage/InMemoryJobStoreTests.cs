using JobRuntime.Storage;
using JobRuntime.Testing.Storage;

namespace JobRuntime.Tests.Storage;

public sealed class InMemoryJobStoreTests : JobStoreConformanceTests
{
    protected override Task<IJobStore> CreateStore(TimeProvider timeProvider) => Task.FromResult<IJobStore>(new InMemoryJobStore(timeProvider));
}
