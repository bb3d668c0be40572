using JobRuntime.Storage;
using Npgsql;

namespace JobRuntime.PostgreSql;

/// <summary>
/// Submits jobs with a PostgreSQL transaction the application owns: the jobs are written by that
/// transaction, so they exist only if it commits — with the business data it wrote — and every node
/// hears of them when it commits (the notification is part of the transaction). The outbox problem
/// without an outbox.
/// </summary>
/// <example>
/// <code>
/// await using var transaction = await connection.BeginTransactionAsync();
/// await InsertOrderAsync(connection, transaction, order);
/// await jobs.SubmitAsync(new SendConfirmationArgs(order.Id), transaction);
/// await transaction.CommitAsync();   // the order and its job, or neither
/// </code>
/// </example>
/// <remarks>
/// The transaction must be on the store's database (any schema on its search path: the job goes into the
/// store's schema). Nothing is published in this process before the commit (a submit that is rolled back
/// was never seen); the job's first event a watcher sees is read from the store. A PostgreSQL error while
/// storing the job aborts the caller's transaction, as any failed statement does: roll it back.
/// </remarks>
public static class PostgreSqlTransactionalSubmit
{
    /// <summary>Submits a job of the only registered type whose handler takes <typeparamref name="TArgs"/>, with the caller's transaction.</summary>
    /// <typeparam name="TArgs">The handler's argument type.</typeparam>
    /// <param name="jobs">The job manager.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="transaction">The caller's open transaction on the store's database.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Cancels the submit.</param>
    /// <returns>The new job's id (or the unfinished job's holding its idempotency key).</returns>
    /// <exception cref="InvalidOperationException">The runtime's store is not PostgreSQL, or the transaction is over or on another database.</exception>
    public static ValueTask<JobId> SubmitAsync<TArgs>(this IJobManager jobs, TArgs args, NpgsqlTransaction transaction, JobSubmitOptions? options = null, CancellationToken cancellationToken = default)
        => SubmitCoreAsync(jobs, null, args, transaction, options, cancellationToken);

    /// <summary>Submits a job of a registered type by name, with the caller's transaction.</summary>
    /// <typeparam name="TArgs">The argument type given.</typeparam>
    /// <param name="jobs">The job manager.</param>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="transaction">The caller's open transaction on the store's database.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Cancels the submit.</param>
    /// <returns>The new job's id (or the unfinished job's holding its idempotency key).</returns>
    /// <exception cref="InvalidOperationException">The runtime's store is not PostgreSQL, or the transaction is over or on another database.</exception>
    public static ValueTask<JobId> SubmitAsync<TArgs>(this IJobManager jobs, string jobType, TArgs args, NpgsqlTransaction transaction, JobSubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        return SubmitCoreAsync(jobs, jobType, args, transaction, options, cancellationToken);
    }

    /// <summary>Submits a batch with the caller's transaction: its jobs exist only if the transaction commits.</summary>
    /// <param name="jobs">The job manager.</param>
    /// <param name="batch">The batch.</param>
    /// <param name="transaction">The caller's open transaction on the store's database.</param>
    /// <param name="cancellationToken">Cancels the submit.</param>
    /// <returns>The batch's id and its members' ids.</returns>
    /// <exception cref="JobBatchRejectedException">A job was refused; nothing was written.</exception>
    /// <exception cref="InvalidOperationException">The runtime's store is not PostgreSQL, or the transaction is over or on another database.</exception>
    public static ValueTask<JobBatchSubmitted> SubmitBatchAsync(this IJobManager jobs, JobBatch batch, NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
        => JobSubmitInTransaction.SubmitBatchAsync(jobs, batch, s => Store(s, transaction), (s, prepared, token) => s.InsertInTransactionAsync(transaction, prepared, token), cancellationToken);

    private static ValueTask<JobId> SubmitCoreAsync<TArgs>(IJobManager jobs, string? jobType, TArgs args, NpgsqlTransaction transaction, JobSubmitOptions? options, CancellationToken cancellationToken)
        => JobSubmitInTransaction.SubmitAsync(jobs, jobType, args, options, s => Store(s, transaction), (s, prepared, token) => s.InsertInTransactionAsync(transaction, prepared, token), cancellationToken);

    private static PostgreSqlJobStore Store(IJobStore runtimeStore, NpgsqlTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (runtimeStore is not PostgreSqlJobStore store)
        {
            throw new InvalidOperationException($"The runtime's store is {runtimeStore.GetType().Name}, not PostgreSQL: a submit with an NpgsqlTransaction needs UsePostgreSql.");
        }

        // Before anything is prepared (which starts the runtime): a transaction the store cannot use is refused at once.
        store.CheckTransaction(transaction);
        return store;
    }
}
