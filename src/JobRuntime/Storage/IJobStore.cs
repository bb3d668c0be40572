namespace JobRuntime.Storage;

/// <summary>
/// Persists jobs. Every store implements the same semantics, checked by the shared conformance
/// suite: claims hand out leases, every later write of a running job is fenced by its lease
/// token, and a write whose lease was lost is rejected, never applied.
/// </summary>
/// <remarks>
/// Implementations must be safe for concurrent use. Time comes from the store's
/// <see cref="TimeProvider"/>. A durable store has made a write durable before the returned task
/// completes.
/// </remarks>
public interface IJobStore
{
    /// <summary>
    /// Stores a new pending job. When <see cref="JobSnapshot.IdempotencyKey"/> is set and a job with
    /// that key has not finished, nothing is stored and that job is returned instead.
    /// </summary>
    /// <param name="job">The job, with <see cref="JobStatus.Pending"/> status and attempt 0.</param>
    /// <param name="cancellationToken">
    /// Withdraws the job while it is not yet being written. An implementation must not throw
    /// <see cref="OperationCanceledException"/> for a job it stored: once the write is under way the
    /// call waits for it and returns.
    /// </param>
    /// <returns>The stored (or the existing) job.</returns>
    /// <exception cref="JobNotFoundException">A parent in <see cref="JobSnapshot.DependsOn"/> does not exist.</exception>
    ValueTask<JobInsertResult> InsertAsync(JobSnapshot job, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores new jobs all or nothing, in one transaction, each as <see cref="InsertAsync"/> would (a job
    /// may name an earlier job of the same call as a parent). When any job is refused, none is stored.
    /// </summary>
    /// <param name="jobs">The jobs, in order; at least one.</param>
    /// <param name="cancellationToken">Withdraws the jobs while they are not yet being written (as for <see cref="InsertAsync"/>).</param>
    /// <returns>Each job's result, in the order given.</returns>
    /// <exception cref="JobNotFoundException">A parent does not exist (nothing stored).</exception>
    /// <exception cref="ArgumentException">A job is not new, or its id is taken (nothing stored).</exception>
    ValueTask<IReadOnlyList<JobInsertResult>> InsertManyAsync(IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims up to <see cref="ClaimRequest.MaxCount"/> ready jobs (pending, due, parents done),
    /// highest priority first, then earliest run time, then oldest. Each claimed job becomes
    /// running, its attempt count grows by one and it gets a new lease.
    /// </summary>
    /// <param name="request">What to claim.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The claimed jobs and when the next delayed job becomes due.</returns>
    ValueTask<ClaimResult> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default);

    /// <summary>Extends a lease and optionally stores progress. Fenced by the lease token.</summary>
    /// <param name="lease">The lease from the claim.</param>
    /// <param name="expiresAt">The new expiry.</param>
    /// <param name="progress">Progress to store, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the lease is still held and whether a cancellation was requested.</returns>
    ValueTask<LeaseState> RenewAsync(JobLease lease, DateTimeOffset expiresAt, JobProgress? progress, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records the outcome of an attempt: a terminal state, a retry at a later time, or a release
    /// back to pending (shutdown). Fenced by the lease token. A terminal outcome releases or
    /// cancels the job's dependents.
    /// </summary>
    /// <param name="lease">The lease from the claim.</param>
    /// <param name="completion">The outcome.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the write was applied, and which dependents it cancelled.</returns>
    ValueTask<JobWriteResult> CompleteAsync(JobLease lease, JobCompletion completion, CancellationToken cancellationToken = default);

    /// <summary>Gets a job.</summary>
    /// <param name="id">The job's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job, or <see langword="null"/> when there is none with that id.</returns>
    ValueTask<JobSnapshot?> GetAsync(JobId id, CancellationToken cancellationToken = default);

    /// <summary>Lists jobs matching a query, newest first, one page at a time.</summary>
    /// <param name="query">The filter and page.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a job: a pending job becomes cancelled at once (its dependents follow as their
    /// policy says); a running job is flagged, and its worker trips the job's token.
    /// </summary>
    /// <param name="id">The job's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What happened.</returns>
    ValueTask<JobCancelResult> CancelAsync(JobId id, CancellationToken cancellationToken = default);

    /// <summary>Deletes a finished job.</summary>
    /// <param name="id">The job's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What happened; a job that is not finished is left alone.</returns>
    ValueTask<JobDeleteResult> DeleteAsync(JobId id, CancellationToken cancellationToken = default);

    /// <summary>Deletes finished jobs that completed before a given time.</summary>
    /// <param name="completedBefore">The cut-off.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many jobs were deleted.</returns>
    ValueTask<int> CleanupAsync(DateTimeOffset completedBefore, CancellationToken cancellationToken = default);

    /// <summary>
    /// Recovers running jobs whose lease expired (their worker died): each is retried after
    /// <paramref name="retryDelay"/> if attempts remain, otherwise failed with a clear reason.
    /// </summary>
    /// <param name="retryDelay">The back-off before the retry of a recovered job, given the job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The recovered jobs in their new state, and the dependents cancelled as a consequence.</returns>
    ValueTask<RecoveryResult> RecoverAsync(Func<JobSnapshot, TimeSpan> retryDelay, CancellationToken cancellationToken = default);
}
