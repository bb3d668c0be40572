namespace JobRuntime.Benchmarks;

/// <summary>Counts finished jobs and completes when the expected number is reached.</summary>
public sealed class Completion
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _expected;
    private int _count;

    public Completion(int expected) => _expected = expected;

    /// <summary>The completion the peers' static job methods report to.</summary>
    public static Completion? Current { get; set; }

    public Task Task => _done.Task;

    public void One()
    {
        if (Interlocked.Increment(ref _count) == _expected)
        {
            _done.TrySetResult();
        }
    }
}
