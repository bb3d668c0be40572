namespace JobRuntime.Storage;

/// <summary>A claim on a running job. Writes that carry a token other than the job's current one are rejected.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Owner">The worker holding the lease.</param>
/// <param name="Token">The fencing token, new for every claim.</param>
/// <param name="ExpiresAt">When the lease lapses unless renewed.</param>
public sealed record JobLease(JobId JobId, string Owner, Guid Token, DateTimeOffset ExpiresAt);
