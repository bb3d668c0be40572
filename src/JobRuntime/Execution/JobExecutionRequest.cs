namespace JobRuntime;

/// <summary>A unit of work for <see cref="IJobExecutor"/>.</summary>
/// <param name="JobId">Identifies the item while it runs.</param>
/// <param name="Name">A display name (job type or task name), used for the dedicated thread's name and diagnostics.</param>
/// <param name="Work">The work; it receives the item's token.</param>
public sealed record JobExecutionRequest(JobId JobId, string Name, Func<CancellationToken, ValueTask<object?>> Work)
{
    /// <summary>The queue whose concurrency limit applies, if it has one.</summary>
    public string? Queue { get; init; }

    /// <summary>Run on a dedicated thread rather than the thread pool (for CPU-bound work).</summary>
    public bool DedicatedThread { get; init; }

    /// <summary>The time limit; <see langword="null"/> for none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// Runs at the deadline, before the item's token is tripped, off the item's thread: capture
    /// diagnostics here (a thread dump shows where the work hung before it starts unwinding). Its
    /// token trips after the grace period; the item is stopped when it returns.
    /// </summary>
    public Func<JobId, CancellationToken, Task>? OnTimeout { get; init; }
}
