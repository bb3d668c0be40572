namespace JobRuntime.Storage;

internal sealed partial class InMemoryJobStore : IJobStoreStatistics
{
    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JobQueueStatistics>> GetQueueStatisticsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = _time.GetUtcNow();
        var queues = new Dictionary<string, (long Ready, long Running, DateTimeOffset? Oldest)>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var entry in _ready.Ordered())
            {
                Count(entry.Job, ready: true);
            }

            // Delayed jobs whose run time has come are ready too (the next claim moves them).
            foreach (var entry in _delayed)
            {
                if (entry.Job.ScheduledAt > now)
                {
                    break;
                }

                Count(entry.Job, ready: true);
            }

            foreach (var entry in _jobs.Values)
            {
                if (entry.Job.Status == JobStatus.Running)
                {
                    Count(entry.Job, ready: false);
                }
            }
        }

        return new(queues.Select(q => new JobQueueStatistics(q.Key, q.Value.Ready, q.Value.Running, q.Value.Oldest)).ToList());

        void Count(JobSnapshot job, bool ready)
        {
            var (r, running, oldest) = queues.GetValueOrDefault(job.Queue);
            queues[job.Queue] = ready
                ? (r + 1, running, oldest is { } o && o <= job.ScheduledAt ? o : job.ScheduledAt)
                : (r, running + 1, oldest);
        }
    }

    /// <inheritdoc />
    public ValueTask<JobCounts> CountAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        JobCounts counts;
        lock (_gate)
        {
            counts = JobCounts.Of(MatchingJobs(query));
        }

        return new(counts);
    }

    private IEnumerable<JobSnapshot> MatchingJobs(JobQuery query)
    {
        foreach (var entry in _jobs.Values)
        {
            if (JobListing.Matches(query, entry.Job))
            {
                yield return entry.Job;
            }
        }
    }
}
