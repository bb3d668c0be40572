namespace JobRuntime.Storage;

/// <summary>
/// How a new job stands against its parents, worked out alike by every store: parents still
/// pending or running are waited on; a parent that already failed, was cancelled or timed out
/// cancels the new job at once when its <see cref="JobSnapshot.OnParentFailure"/> says so.
/// </summary>
public sealed class JobDependencies
{
    private JobDependencies(JobSnapshot stored, IReadOnlyList<JobId> waitingOn)
    {
        Stored = stored;
        WaitingOn = waitingOn;
    }

    /// <summary>The job as it must be stored (cancelled already when a parent failed and the job cancels on parent failure).</summary>
    public JobSnapshot Stored { get; }

    /// <summary>The parents that have not finished yet; empty when <see cref="Stored"/> is cancelled.</summary>
    public IReadOnlyList<JobId> WaitingOn { get; }

    /// <summary>Evaluates <paramref name="job"/>'s parents (each listed once, however often the job names it).</summary>
    /// <param name="job">The new job.</param>
    /// <param name="parentStatus">A parent's current status, or <see langword="null"/> when it does not exist.</param>
    /// <param name="now">The store's clock reading, used as the completion time of a job cancelled at once.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="JobNotFoundException">A parent does not exist.</exception>
    public static JobDependencies Evaluate(JobSnapshot job, Func<JobId, JobStatus?> parentStatus, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(parentStatus);
        if (job.DependsOn.Count == 0)
        {
            // Most jobs: nothing to look up (the in-memory store skips even this call for them).
            return new JobDependencies(job, []);
        }

        var waitingOn = new List<JobId>();
        JobId? failedParent = null;
        JobStatus failedStatus = default;
        foreach (var parentId in job.DependsOn.Distinct())
        {
            var status = parentStatus(parentId) ?? throw new JobNotFoundException($"Parent job {parentId} of the new job does not exist.");
            if (!status.IsTerminal())
            {
                waitingOn.Add(parentId);
            }
            else if (status != JobStatus.Completed && failedParent is null)
            {
                failedParent = parentId;
                failedStatus = status;
            }
        }

        if (failedParent is { } parent && job.OnParentFailure == DependencyFailureBehavior.Cancel)
        {
            return new JobDependencies(job with { Status = JobStatus.Cancelled, Error = JobStoreErrors.ParentFailed(parent, failedStatus), CompletedAt = now }, []);
        }

        return new JobDependencies(job, waitingOn);
    }
}
