namespace JobRuntime.Execution;

/// <summary>
/// Runs work items on a bounded number of slots with cooperative cancellation and a per-item
/// timeout. Every exit path (success, exception, cancellation, timeout, shutdown, abandonment)
/// produces a <see cref="JobExecutionResult"/>; nothing escapes as an unobserved exception.
/// </summary>
public interface IJobExecutor
{
    /// <summary>The most items running at once.</summary>
    int MaxConcurrency { get; }

    /// <summary>How many items hold a slot now.</summary>
    int RunningCount { get; }

    /// <summary>How many items were abandoned because they ignored cancellation past the grace period.</summary>
    long AbandonedCount { get; }

    /// <summary>
    /// Waits for a free slot (global and the request's queue), runs the work on the thread pool or a
    /// dedicated thread, and returns how it ended. Never runs the work on the caller's thread.
    /// </summary>
    /// <param name="request">The work.</param>
    /// <param name="cancellationToken">Cancels the wait for a slot, and while the work runs trips its token (it ends Cancelled).</param>
    /// <returns>How the work ended.</returns>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for a slot.</exception>
    /// <exception cref="ObjectDisposedException">The executor was shut down.</exception>
    Task<JobExecutionResult> ExecuteAsync(JobExecutionRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Trips the token of a running item. The first reason wins; later calls are harmless. The
    /// reason is recorded at once; the token trips on the thread pool moments later, so the item's
    /// cancellation callbacks never run on the caller's thread.
    /// </summary>
    /// <param name="jobId">The item's id.</param>
    /// <param name="reason">Why it should stop.</param>
    /// <returns><see langword="true"/> when the item was running here and this call gave the reason.</returns>
    bool TryStop(JobId jobId, JobStopReason reason);

    /// <summary>Whether an item with this id is running here.</summary>
    /// <param name="jobId">The item's id.</param>
    /// <returns><see langword="true"/> when it holds a slot.</returns>
    bool IsRunning(JobId jobId);
}
