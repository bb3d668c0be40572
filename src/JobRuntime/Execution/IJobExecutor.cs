namespace JobRuntime;

/// <summary>
/// Runs work items on a bounded number of slots with cooperative cancellation and a per-item
/// timeout. Every exit path (success, exception, cancellation, timeout, shutdown, abandonment)
/// produces a <see cref="JobExecutionResult"/>; nothing escapes as an unobserved exception.
/// </summary>
/// <remarks>
/// The runtime's engine runs every job through the registered executor: it asks
/// <see cref="AvailableSlots"/> and <see cref="GetQueueAvailability"/> how many jobs to claim,
/// hands each claimed job over with <see cref="TryStart"/>, learns its outcome through
/// <see cref="JobWorkItem.OnFinished"/>, stops jobs with <see cref="TryStop"/> and, at shutdown,
/// <see cref="StopAllAsync"/>; it waits for <see cref="SlotFreed"/> to claim again.
/// <see cref="WorkerManager"/> runs its tasks with <see cref="ExecuteAsync"/>. Replacing the
/// registration replaces all of that; thread dumps then no longer know which thread runs which job
/// (they read the built-in executor's registry).
/// </remarks>
public interface IJobExecutor
{
    /// <summary>The most items running at once.</summary>
    int MaxConcurrency { get; }

    /// <summary>How many items hold a slot now.</summary>
    int RunningCount { get; }

    /// <summary>How many items were abandoned because they ignored cancellation past the grace period.</summary>
    long AbandonedCount { get; }

    /// <summary>How many global slots are free now.</summary>
    int AvailableSlots { get; }

    /// <summary>
    /// Raised whenever a slot is freed (an item ended, or a wait for a slot gave up after taking
    /// it), on the releasing thread. Handlers must be quick and must not throw.
    /// </summary>
    event Action? SlotFreed;

    /// <summary>How many slots each queue with a limit of its own has free now.</summary>
    /// <returns>Free slots by queue name; <see langword="null"/> when no queue has a limit.</returns>
    IReadOnlyDictionary<string, int>? GetQueueAvailability();

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
    /// Starts a work item if a global slot and, when its queue has a limit, a slot of that queue are
    /// free now; never waits. Its outcome arrives once through <see cref="JobWorkItem.OnFinished"/>.
    /// </summary>
    /// <param name="item">The item; an item runs once.</param>
    /// <returns><see langword="false"/> when no slot was free (the item did not start).</returns>
    /// <exception cref="InvalidOperationException">An item with the same id is running, or this item ran before.</exception>
    /// <exception cref="ObjectDisposedException">The executor was shut down.</exception>
    bool TryStart(JobWorkItem item);

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

    /// <summary>
    /// Stops every running item with <paramref name="reason"/> and waits until each has ended or,
    /// having ignored its token for the grace period, was abandoned. Never waits much longer than
    /// the grace period.
    /// </summary>
    /// <param name="reason">Why they should stop.</param>
    /// <returns>A task that completes when every item that was running has an outcome.</returns>
    Task StopAllAsync(JobStopReason reason);
}
