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

/// <summary>
/// The store kit's submit into a transaction the caller owns: the runtime's manager prepares the jobs, the
/// store package writes them with the caller's transaction (JobRuntime.PostgreSql's and JobRuntime.Sqlite's
/// <c>SubmitAsync(…, transaction)</c> are built on it).
/// </summary>
public static class JobSubmitInTransaction
{
    /// <summary>Prepares one job (as a submit would) and stores it with <paramref name="insert"/>.</summary>
    /// <typeparam name="TStore">The store package's store type.</typeparam>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <param name="jobs">The runtime's job manager.</param>
    /// <param name="jobType">The job type, or <see langword="null"/> for the only one taking <typeparamref name="TArgs"/>.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Options.</param>
    /// <param name="store">Checks the runtime's store and the caller's transaction before anything is prepared; returns the store to write with.</param>
    /// <param name="insert">Writes the prepared jobs with the caller's transaction.</param>
    /// <param name="cancellationToken">Cancels the submit.</param>
    /// <returns>The job's id (or the unfinished job's holding its idempotency key).</returns>
    public static async ValueTask<JobId> SubmitAsync<TStore, TArgs>(IJobManager jobs, string? jobType, TArgs args, JobSubmitOptions? options, Func<IJobStore, TStore> store, Func<TStore, IReadOnlyList<JobSnapshot>, CancellationToken, Task<IReadOnlyList<JobInsertResult>>> insert, CancellationToken cancellationToken)
    {
        var (preparer, target) = Resolve(jobs, store);
        var job = await preparer.PrepareAsync(jobType, args, options, cancellationToken).ConfigureAwait(false);
        var stored = await insert(target, [job], cancellationToken).ConfigureAwait(false);
        return stored[0].Job.Id;
    }

    /// <summary>Prepares a batch (as <see cref="IJobManager.SubmitBatchAsync"/> would) and stores it with <paramref name="insert"/>.</summary>
    /// <typeparam name="TStore">The store package's store type.</typeparam>
    /// <param name="jobs">The runtime's job manager.</param>
    /// <param name="batch">The batch.</param>
    /// <param name="store">Checks the runtime's store and the caller's transaction before anything is prepared; returns the store to write with.</param>
    /// <param name="insert">Writes the prepared jobs (members, then the head) with the caller's transaction, all or none.</param>
    /// <param name="cancellationToken">Cancels the submit.</param>
    /// <returns>The batch's id and its members' ids.</returns>
    public static async ValueTask<JobBatchSubmitted> SubmitBatchAsync<TStore>(IJobManager jobs, JobBatch batch, Func<IJobStore, TStore> store, Func<TStore, IReadOnlyList<JobSnapshot>, CancellationToken, Task<IReadOnlyList<JobInsertResult>>> insert, CancellationToken cancellationToken)
    {
        var (preparer, target) = Resolve(jobs, store);
        var prepared = await preparer.PrepareBatchAsync(batch, cancellationToken).ConfigureAwait(false);
        await insert(target, prepared, cancellationToken).ConfigureAwait(false);
        return new JobBatchSubmitted(prepared[^1].Id, prepared[^1].DependsOn);
    }

    private static (IJobSubmitPreparer Preparer, TStore Store) Resolve<TStore>(IJobManager jobs, Func<IJobStore, TStore> store)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(store);
        return jobs is IJobSubmitPreparer preparer
            ? (preparer, store(preparer.Store))
            : throw new InvalidOperationException($"{jobs.GetType().FullName} does not prepare submits (IJobSubmitPreparer): use the runtime's IJobManager.");
    }
}
