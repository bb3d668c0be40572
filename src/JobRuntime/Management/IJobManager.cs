
namespace JobRuntime;

/// <summary>
/// The application's entry point to jobs: submit, query, list, cancel, delete, re-run, await,
/// watch and clean up. Thread-safe; resolve it from DI.
/// </summary>
public interface IJobManager
{
    /// <summary>
    /// Submits a job of the only registered type whose handler takes <typeparamref name="TArgs"/>.
    /// The job is stored (durably, with a durable store) before this returns.
    /// </summary>
    /// <typeparam name="TArgs">The handler's argument type.</typeparam>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">
    /// Cancels the submit while the job is not yet being written: an <see cref="OperationCanceledException"/>
    /// means the job was not stored. Once the write is under way (a few milliseconds) the call waits for it and returns the job's id.
    /// </param>
    /// <returns>The new job's id, or the existing job's id when its idempotency key matched an unfinished job.</returns>
    /// <exception cref="UnknownJobTypeException">No handler, or several, take <typeparamref name="TArgs"/>.</exception>
    /// <exception cref="JobPayloadException">The arguments do not serialize.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    ValueTask<JobId> SubmitAsync<TArgs>(TArgs args, JobSubmitOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Submits a job of a registered type by name. The job is stored before this returns.</summary>
    /// <typeparam name="TArgs">The argument type given; it must be the handler's argument type (or derive from it).</typeparam>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">
    /// Cancels the submit while the job is not yet being written: an <see cref="OperationCanceledException"/>
    /// means the job was not stored. Once the write is under way (a few milliseconds) the call waits for it and returns the job's id.
    /// </param>
    /// <returns>The new job's id, or the existing job's id when its idempotency key matched an unfinished job.</returns>
    /// <exception cref="UnknownJobTypeException">No handler is registered for <paramref name="jobType"/>.</exception>
    /// <exception cref="JobPayloadException">The arguments do not fit the handler or do not serialize.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    ValueTask<JobId> SubmitAsync<TArgs>(string jobType, TArgs args, JobSubmitOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Submits a job of a registered type with a JSON payload (from a REST call or a command line, say).</summary>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="payloadJson">The arguments as JSON; checked against the handler's argument type.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">
    /// Cancels the submit while the job is not yet being written: an <see cref="OperationCanceledException"/>
    /// means the job was not stored. Once the write is under way (a few milliseconds) the call waits for it and returns the job's id.
    /// </param>
    /// <returns>The new (or existing, by idempotency key) job's id.</returns>
    /// <exception cref="UnknownJobTypeException">No handler is registered for <paramref name="jobType"/>.</exception>
    /// <exception cref="JobPayloadException">The payload does not deserialize to the handler's argument type.</exception>
    ValueTask<JobId> SubmitJsonAsync(string jobType, string payloadJson, JobSubmitOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Gets a job. The progress of a job running in this process is the live one.</summary>
    /// <param name="jobId">The job's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job, or <see langword="null"/> when no job has that id.</returns>
    ValueTask<JobSnapshot?> GetAsync(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>Lists jobs, newest first, one page at a time.</summary>
    /// <param name="query">The filter and page; <see langword="null"/> for the first 100 of all jobs.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    ValueTask<JobPage> ListAsync(JobQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a job. A pending job never runs; a running job's token is tripped and it ends
    /// cancelled once its handler stops. Cancelling a finished job (or cancelling twice) is harmless.
    /// </summary>
    /// <param name="jobId">The job's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What happened, including <see cref="JobCancelOutcome.NotFound"/>.</returns>
    ValueTask<JobCancelOutcome> CancelAsync(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>Deletes a finished job.</summary>
    /// <param name="jobId">The job's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when deleted, <see langword="false"/> when no job has that id.</returns>
    /// <exception cref="InvalidOperationException">The job has not finished; cancel it and wait first.</exception>
    ValueTask<bool> DeleteAsync(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>Submits a new job with the same type, arguments and options as a finished one.</summary>
    /// <param name="jobId">The finished job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new job's id.</returns>
    /// <exception cref="JobNotFoundException">No job has that id.</exception>
    /// <exception cref="InvalidOperationException">The job has not finished.</exception>
    ValueTask<JobId> RerunAsync(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>Waits until a job is terminal.</summary>
    /// <param name="jobId">The job's id.</param>
    /// <param name="cancellationToken">Stops waiting (the job is not cancelled).</param>
    /// <returns>The job in its terminal state.</returns>
    /// <exception cref="JobNotFoundException">No job has that id.</exception>
    Task<JobSnapshot> WaitForCompletionAsync(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>Waits for a job and returns its result.</summary>
    /// <typeparam name="TResult">The handler's result type.</typeparam>
    /// <param name="jobId">The job's id.</param>
    /// <param name="cancellationToken">Stops waiting (the job is not cancelled).</param>
    /// <returns>The result.</returns>
    /// <exception cref="JobNotFoundException">No job has that id.</exception>
    /// <exception cref="JobFailedException">The job failed; the exception carries its error.</exception>
    /// <exception cref="JobCancelledException">The job was cancelled.</exception>
    /// <exception cref="JobTimedOutException">The job timed out.</exception>
    /// <exception cref="InvalidCastException">The job completed, but its stored result does not read as <typeparamref name="TResult"/>; the message names the job.</exception>
    Task<TResult> WaitForResultAsync<TResult>(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams a job's events: first its current state, then every lifecycle event and the newest
    /// progress, ending after the terminal event.
    /// </summary>
    /// <param name="jobId">The job's id.</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <returns>The events.</returns>
    /// <exception cref="JobNotFoundException">No job has that id.</exception>
    /// <remarks>The stream is lazy: an unknown id throws at the first <c>MoveNextAsync</c>. To learn it before streaming (an HTTP endpoint that answers 404), use <see cref="OpenWatchAsync"/>.</remarks>
    IAsyncEnumerable<JobEvent> WatchAsync(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks now that the job exists, then returns the stream of its events, as
    /// <see cref="WatchAsync"/> gives it: <c>await foreach (var e in await jobs.OpenWatchAsync(id))</c>.
    /// </summary>
    /// <param name="jobId">The job's id.</param>
    /// <param name="cancellationToken">Cancels the check, and stops the stream.</param>
    /// <returns>The events.</returns>
    /// <exception cref="JobNotFoundException">No job has that id (thrown by the call, before any event).</exception>
    ValueTask<IAsyncEnumerable<JobEvent>> OpenWatchAsync(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>Streams every job's events in this process (for dashboards and monitors) until cancelled.</summary>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <returns>The events.</returns>
    IAsyncEnumerable<JobEvent> WatchAllAsync(CancellationToken cancellationToken = default);

    /// <summary>The thread dump captured when a job timed out.</summary>
    /// <param name="jobId">The job's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The dump, or <see langword="null"/> when the job has none (it did not time out).</returns>
    /// <exception cref="JobNotFoundException">No job has that id.</exception>
    ValueTask<ThreadDumps.ThreadDump?> GetThreadDumpAsync(JobId jobId, CancellationToken cancellationToken = default);

    /// <summary>Deletes finished jobs that completed more than <paramref name="olderThan"/> ago.</summary>
    /// <param name="olderThan">The age.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many jobs were deleted.</returns>
    ValueTask<int> CleanupAsync(TimeSpan olderThan, CancellationToken cancellationToken = default);

    /// <summary>
    /// Submits a batch: every job (and the continuation) is checked first — type, arguments, options,
    /// submit filters — and then all are stored in one transaction, or none.
    /// </summary>
    /// <param name="batch">The jobs.</param>
    /// <param name="cancellationToken">Cancels the submit while the batch is not yet being written (nothing stored).</param>
    /// <returns>The batch's id and its members' ids.</returns>
    /// <exception cref="ArgumentException">The batch is empty.</exception>
    /// <exception cref="JobBatchRejectedException">A job was refused: every problem is listed, each naming its job; nothing was stored.</exception>
    /// <exception cref="JobNotFoundException">A parent named by a job does not exist (nothing stored).</exception>
    ValueTask<JobBatchSubmitted> SubmitBatchAsync(JobBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Gets a batch's status: its members counted by status, its aggregate progress, its head.</summary>
    /// <param name="batchId">The batch's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status, or <see langword="null"/> when no batch has that id.</returns>
    ValueTask<JobBatchStatus?> GetBatchAsync(JobId batchId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams a batch's status: first the current one, then each change (checked every
    /// <see cref="JobRuntimeOptions.BatchRefreshInterval"/>, and at once when the head ends), ending with the
    /// status in which it is finished.
    /// </summary>
    /// <param name="batchId">The batch's id.</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <returns>The statuses.</returns>
    /// <exception cref="JobNotFoundException">No batch has that id (at the first <c>MoveNextAsync</c>).</exception>
    IAsyncEnumerable<JobBatchStatus> WatchBatchAsync(JobId batchId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a batch: its head (the continuation does not run) and every unfinished member — pending ones
    /// never run, running ones have their token tripped.
    /// </summary>
    /// <param name="batchId">The batch's id.</param>
    /// <param name="cancellationToken">Stops cancelling (the jobs cancelled so far stay cancelled).</param>
    /// <returns>How many jobs were cancelled or asked to stop.</returns>
    /// <exception cref="JobNotFoundException">No batch has that id.</exception>
    ValueTask<int> CancelBatchAsync(JobId batchId, CancellationToken cancellationToken = default);
}
