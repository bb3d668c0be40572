using JobRuntime.TestSupport;

namespace JobRuntime.Tests.Batches;

public sealed class InMemoryBatchTests : BatchScenarioTests
{
    protected override Task UseStoreAsync(JobRuntimeBuilder builder) => Task.CompletedTask;
}
