namespace JobRuntime.Storage;

/// <summary>
/// For stores: result caching (<see cref="JobSubmitOptions.CacheResultFor"/>). At insert, when no
/// unfinished job holds the key, a store looks for the most recently completed job of the same type
/// with the same key that completed at or after <see cref="Since"/>; if there is one, it stores the
/// new job as <see cref="Served"/> makes it — completed, with that result — in the same write.
/// </summary>
public static class JobResultCache
{
    /// <summary>The earliest completion a new job may reuse, or <see langword="null"/> when it asks for no cache.</summary>
    /// <param name="job">The job being inserted.</param>
    /// <param name="now">The store's clock.</param>
    /// <returns>The window's start.</returns>
    public static DateTimeOffset? Since(JobSnapshot job, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job is { CacheResultFor: { } window, IdempotencyKey: not null } ? now - window : null;
    }

    /// <summary>Whether a stored job's result may serve <paramref name="job"/>: completed, same type and key, within the window.</summary>
    /// <param name="job">The job being inserted.</param>
    /// <param name="candidate">A stored job.</param>
    /// <param name="now">The store's clock.</param>
    /// <returns><see langword="true"/> when it may.</returns>
    public static bool CanServe(JobSnapshot job, JobSnapshot candidate, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(candidate);
        return Since(job, now) is { } since
            && candidate.Status == JobStatus.Completed
            && string.Equals(candidate.Type, job.Type, StringComparison.Ordinal)
            && string.Equals(candidate.IdempotencyKey, job.IdempotencyKey, StringComparison.Ordinal)
            && candidate.CompletedAt >= since;
    }

    /// <summary>The new job as it is stored when served from <paramref name="from"/>: completed now, with its result and progress, never run, waiting for no parent.</summary>
    /// <param name="job">The job being inserted.</param>
    /// <param name="from">The completed job whose result it reuses.</param>
    /// <param name="now">The store's clock.</param>
    /// <returns>The job to store.</returns>
    public static JobSnapshot Served(JobSnapshot job, JobSnapshot from, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(from);
        return job with { Status = JobStatus.Completed, Result = from.Result, Progress = from.Progress, CompletedAt = now, CachedFrom = from.Id, DependsOn = [], WaitReason = JobWaitReason.None };
    }
}
