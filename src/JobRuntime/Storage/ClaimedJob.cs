namespace JobRuntime.Storage;

/// <summary>A job claimed for running, with its lease.</summary>
/// <param name="Job">The job, now running.</param>
/// <param name="Lease">The lease that fences every later write of this attempt.</param>
public sealed record ClaimedJob(JobSnapshot Job, JobLease Lease);
