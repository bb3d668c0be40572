namespace JobRuntime.Storage;

/// <summary>
/// Makes the jobs a submit would store — the job type resolved, the arguments serialized, the submit
/// filters run and the options checked, exactly as <see cref="IJobManager"/> does — without storing them:
/// for a store package that stores them in a transaction its caller owns (JobRuntime.PostgreSql's
/// <c>SubmitAsync(…, NpgsqlTransaction)</c>). The runtime's <see cref="IJobManager"/> implements it, and
/// starts its dispatcher when asked to prepare (the store's signal at the caller's commit then wakes it).
/// </summary>
public interface IJobSubmitPreparer
{
    /// <summary>The runtime's store (a store package checks that it is its own).</summary>
    IJobStore Store { get; }

    /// <summary>Makes one new job, as <see cref="IJobManager.SubmitAsync{TArgs}(string, TArgs, JobSubmitOptions?, CancellationToken)"/> would.</summary>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <param name="jobType">The registered job type, or <see langword="null"/> for the only one whose handler takes <typeparamref name="TArgs"/>.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Cancels the submit filters.</param>
    /// <returns>The job, pending, to be stored with <see cref="IJobStore.InsertAsync"/>'s semantics.</returns>
    /// <exception cref="UnknownJobTypeException">No such job type.</exception>
    /// <exception cref="JobPayloadException">The arguments do not fit the handler.</exception>
    /// <exception cref="ArgumentException">The options are invalid, or a submit filter refused the job.</exception>
    ValueTask<JobSnapshot> PrepareAsync<TArgs>(string? jobType, TArgs args, JobSubmitOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Makes a batch's jobs, as <see cref="IJobManager.SubmitBatchAsync"/> would: the members in order, then the head.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="cancellationToken">Cancels the submit filters.</param>
    /// <returns>The jobs, to be stored all or none with <see cref="IJobStore.InsertManyAsync"/>'s semantics.</returns>
    /// <exception cref="ArgumentException">The batch is empty.</exception>
    /// <exception cref="JobBatchRejectedException">A job was refused; every problem is listed.</exception>
    ValueTask<IReadOnlyList<JobSnapshot>> PrepareBatchAsync(JobBatch batch, CancellationToken cancellationToken = default);
}
