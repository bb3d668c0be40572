namespace JobRuntime.Storage;

/// <summary>The result of <see cref="IJobStore.InsertAsync"/>.</summary>
/// <param name="Job">The stored job, or the unfinished job that already holds the idempotency key.</param>
/// <param name="Created">Whether a new job was stored.</param>
public sealed record JobInsertResult(JobSnapshot Job, bool Created);
