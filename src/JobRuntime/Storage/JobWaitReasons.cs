namespace JobRuntime.Storage;

/// <summary>Derives <see cref="JobSnapshot.WaitReason"/> for stores, so that every store reports it alike.</summary>
public static class JobWaitReasons
{
    /// <summary>Why a job is not running yet.</summary>
    /// <param name="job">The stored job.</param>
    /// <param name="waitingForParents">Whether some parent has not finished.</param>
    /// <param name="now">The store's current time.</param>
    /// <returns>The reason; <see cref="JobWaitReason.None"/> for a job that is not pending or is ready.</returns>
    public static JobWaitReason Of(JobSnapshot job, bool waitingForParents, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Status != JobStatus.Pending)
        {
            return JobWaitReason.None;
        }

        if (waitingForParents)
        {
            return JobWaitReason.Dependencies;
        }

        if (job.ScheduledAt <= now)
        {
            return JobWaitReason.None;
        }

        // A failed attempt (or a recovered lease) leaves an error behind: the wait is a back-off.
        return job.Attempt > 0 || job.Error is not null ? JobWaitReason.RetryBackoff : JobWaitReason.Scheduled;
    }
}
