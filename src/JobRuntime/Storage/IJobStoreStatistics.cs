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

    /// <summary>
    /// Counts the jobs matching a query's filter (its paging is ignored) by status, with the sum of the
    /// unfinished ones' progress: a batch's status in one read, however many members it has.
    /// </summary>
    /// <param name="query">The filter.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The counts.</returns>
    ValueTask<JobCounts> CountAsync(JobQuery query, CancellationToken cancellationToken = default);
}

/// <summary>How many jobs match a query, by status (<see cref="IJobStoreStatistics.CountAsync"/>).</summary>
/// <param name="Pending">Pending jobs.</param>
/// <param name="Running">Running jobs.</param>
/// <param name="Completed">Completed jobs.</param>
/// <param name="Failed">Failed jobs.</param>
/// <param name="Cancelled">Cancelled jobs.</param>
/// <param name="TimedOut">Timed-out jobs.</param>
/// <param name="UnfinishedProgress">
/// The sum, over the pending and running jobs, of each one's progress as a fraction
/// (<see cref="JobProgress.Current"/> ÷ <see cref="JobProgress.Total"/>, at most 1; 0 without a total).
/// </param>
public sealed record JobCounts(long Pending, long Running, long Completed, long Failed, long Cancelled, long TimedOut, double UnfinishedProgress)
{
    /// <summary>No jobs.</summary>
    public static JobCounts None { get; } = new(0, 0, 0, 0, 0, 0, 0);

    /// <summary>All matching jobs.</summary>
    public long Total => Pending + Running + Finished;

    /// <summary>The jobs in a terminal state.</summary>
    public long Finished => Completed + Failed + Cancelled + TimedOut;

    /// <summary>Counts indexed by <see cref="JobStatus"/> value (for stores that count with a query grouped by status).</summary>
    /// <param name="byStatus">Six counts: pending, running, completed, failed, cancelled, timed out.</param>
    /// <param name="unfinishedProgress">See <see cref="UnfinishedProgress"/>.</param>
    /// <returns>The counts.</returns>
    public static JobCounts FromStatusCounts(ReadOnlySpan<long> byStatus, double unfinishedProgress)
    {
        if (byStatus.Length != 6)
        {
            throw new ArgumentException("Six counts are needed, one per status.", nameof(byStatus));
        }

        return new(byStatus[0], byStatus[1], byStatus[2], byStatus[3], byStatus[4], byStatus[5], unfinishedProgress);
    }

    /// <summary>Counts jobs (for stores that count in memory).</summary>
    /// <param name="jobs">The jobs matching the query.</param>
    /// <returns>The counts.</returns>
    public static JobCounts Of(IEnumerable<JobSnapshot> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        Span<long> byStatus = stackalloc long[6];
        var progress = 0.0;
        foreach (var job in jobs)
        {
            var status = (int)job.Status;
            if (status is >= 0 and < 6)
            {
                byStatus[status]++;
            }

            if (!job.IsTerminal)
            {
                progress += Fraction(job.Progress);
            }
        }

        return FromStatusCounts(byStatus, progress);
    }

    private static double Fraction(JobProgress progress) => progress.Total > 0 ? Math.Clamp((double)progress.Current / progress.Total, 0, 1) : 0;
}

/// <summary>One queue's numbers.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="Ready">Pending jobs whose run time has come and whose parents completed: what a free slot would run now.</param>
/// <param name="Running">Jobs running (holding a lease) on any node.</param>
/// <param name="OldestReadySince">The earliest run time among the ready jobs (the oldest has waited since then); <see langword="null"/> when none is ready.</param>
public sealed record JobQueueStatistics(string Queue, long Ready, long Running, DateTimeOffset? OldestReadySince);
