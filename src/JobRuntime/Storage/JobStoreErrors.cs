namespace JobRuntime.Storage;

/// <summary>The errors a store records on its own (not a handler's), worded alike by every store.</summary>
public static class JobStoreErrors
{
    /// <summary>A pending job was cancelled before it ran.</summary>
    public static JobError CancelledBeforeRun { get; } = new("Cancelled", "The job was cancelled before it ran.");

    /// <summary>A job is cancelled because a parent did not complete.</summary>
    /// <param name="parent">The parent.</param>
    /// <param name="status">How the parent ended.</param>
    /// <returns>The error.</returns>
    public static JobError ParentFailed(JobId parent, JobStatus status)
        => new("DependencyFailed", $"Parent job {parent} ended {status}.");

    /// <summary>A running job's worker stopped renewing its lease (it most likely died).</summary>
    /// <param name="job">The job as it was running.</param>
    /// <returns>The error.</returns>
    public static JobError LeaseExpired(JobSnapshot job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new JobError(
            "LeaseExpired",
            $"The worker '{job.Owner}' stopped renewing its lease (process exited while running?), attempt {job.Attempt} of {job.MaxAttempts}.");
    }

    /// <summary>
    /// A running job whose cancellation was requested lost its worker (its lease expired) before
    /// the worker acknowledged the request: it ends Cancelled rather than running again.
    /// </summary>
    /// <param name="job">The job as it was running.</param>
    /// <returns>The error.</returns>
    public static JobError CancelledWorkerStopped(JobSnapshot job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new JobError(
            "Cancelled",
            $"The job was cancelled while it ran; its worker '{job.Owner}' stopped renewing its lease before it acknowledged the cancellation (attempt {job.Attempt} of {job.MaxAttempts}).");
    }
}
