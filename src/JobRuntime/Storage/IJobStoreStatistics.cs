namespace JobRuntime.Storage;

/// <summary>
/// Implemented by stores that can count their queues: how many jobs are ready and how long the
/// oldest has waited, read from the store (so every node of a shared store sees the same numbers).
/// The runtime reads it for its queue-depth and queue-lag gauges and for its health check.
/// </summary>
public interface IJobStoreStatistics
{
    /// <summary>Counts every queue that has ready or running jobs.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One entry per such queue, in no particular order.</returns>
    ValueTask<IReadOnlyList<JobQueueStatistics>> GetQueueStatisticsAsync(CancellationToken cancellationToken = default);
}

/// <summary>One queue's numbers.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="Ready">Pending jobs whose run time has come and whose parents completed: what a free slot would run now.</param>
/// <param name="Running">Jobs running (holding a lease) on any node.</param>
/// <param name="OldestReadySince">The earliest run time among the ready jobs (the oldest has waited since then); <see langword="null"/> when none is ready.</param>
public sealed record JobQueueStatistics(string Queue, long Ready, long Running, DateTimeOffset? OldestReadySince);
