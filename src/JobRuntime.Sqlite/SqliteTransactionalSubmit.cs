using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

/// <summary>
/// Submits jobs with a SQLite transaction the application owns on its own connection to the store's file:
/// the jobs are written by that transaction, so they exist only if it commits, with the application's
/// data. The runtime notices the commit within <see cref="SqliteJobStoreOptions.SignalPollInterval"/>.
/// </summary>
/// <example>
/// <code>
/// await using var connection = new SqliteConnection("Data Source=app.db");   // the store's file
/// await connection.OpenAsync();
/// using var transaction = connection.BeginTransaction();                    // IMMEDIATE: it holds the write lock
/// InsertOrder(connection, transaction, order);
/// await jobs.SubmitAsync(new SendConfirmationArgs(order.Id), transaction);
/// transaction.Commit();                                                     // the order and its job, or neither
/// </code>
/// </example>
/// <remarks>
/// SQLite has one writer at a time per file: while the caller's transaction is open, the runtime's own
/// writes (claims, progress, outcomes) wait for it (up to the store's <see cref="SqliteJobStoreOptions.BusyTimeout"/>),
/// so keep it short. Begin it with <c>BeginTransaction()</c> (IMMEDIATE, the default of Microsoft.Data.Sqlite):
/// a deferred transaction that has only read may be refused the write lock. Nothing is published in this
/// process before the commit.
/// </remarks>
public static class SqliteTransactionalSubmit
{
    /// <summary>Submits a job of the only registered type whose handler takes <typeparamref name="TArgs"/>, with the caller's transaction.</summary>
    /// <typeparam name="TArgs">The handler's argument type.</typeparam>
    /// <param name="jobs">The job manager.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="transaction">The caller's open transaction on the store's file.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Cancels the submit before it writes.</param>
    /// <returns>The new job's id (or the unfinished job's holding its idempotency key).</returns>
    /// <exception cref="InvalidOperationException">The runtime's store is not SQLite, or the transaction is over or on another file.</exception>
    public static ValueTask<JobId> SubmitAsync<TArgs>(this IJobManager jobs, TArgs args, SqliteTransaction transaction, JobSubmitOptions? options = null, CancellationToken cancellationToken = default)
        => SubmitCoreAsync(jobs, null, args, transaction, options, cancellationToken);

    /// <summary>Submits a job of a registered type by name, with the caller's transaction.</summary>
    /// <typeparam name="TArgs">The argument type given.</typeparam>
    /// <param name="jobs">The job manager.</param>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="transaction">The caller's open transaction on the store's file.</param>
    /// <param name="options">Options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Cancels the submit before it writes.</param>
    /// <returns>The new job's id (or the unfinished job's holding its idempotency key).</returns>
    /// <exception cref="InvalidOperationException">The runtime's store is not SQLite, or the transaction is over or on another file.</exception>
    public static ValueTask<JobId> SubmitAsync<TArgs>(this IJobManager jobs, string jobType, TArgs args, SqliteTransaction transaction, JobSubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        return SubmitCoreAsync(jobs, jobType, args, transaction, options, cancellationToken);
    }

    /// <summary>Submits a batch with the caller's transaction: its jobs exist only if the transaction commits.</summary>
    /// <param name="jobs">The job manager.</param>
    /// <param name="batch">The batch.</param>
    /// <param name="transaction">The caller's open transaction on the store's file.</param>
    /// <param name="cancellationToken">Cancels the submit before it writes.</param>
    /// <returns>The batch's id and its members' ids.</returns>
    /// <exception cref="JobBatchRejectedException">A job was refused; nothing was written.</exception>
    /// <exception cref="InvalidOperationException">The runtime's store is not SQLite, or the transaction is over or on another file.</exception>
    public static ValueTask<JobBatchSubmitted> SubmitBatchAsync(this IJobManager jobs, JobBatch batch, SqliteTransaction transaction, CancellationToken cancellationToken = default)
        => JobSubmitInTransaction.SubmitBatchAsync(jobs, batch, s => Store(s, transaction), (s, prepared, token) => s.InsertInTransactionAsync(transaction, prepared, token), cancellationToken);

    private static ValueTask<JobId> SubmitCoreAsync<TArgs>(IJobManager jobs, string? jobType, TArgs args, SqliteTransaction transaction, JobSubmitOptions? options, CancellationToken cancellationToken)
        => JobSubmitInTransaction.SubmitAsync(jobs, jobType, args, options, s => Store(s, transaction), (s, prepared, token) => s.InsertInTransactionAsync(transaction, prepared, token), cancellationToken);

    private static SqliteJobStore Store(IJobStore runtimeStore, SqliteTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (runtimeStore is not SqliteJobStore store)
        {
            throw new InvalidOperationException($"The runtime's store is {runtimeStore.GetType().Name}, not SQLite: a submit with a SqliteTransaction needs UseSqlite.");
        }

        // Before anything is prepared (which starts the runtime): a transaction the store cannot use is refused at once.
        store.CheckTransaction(transaction);
        return store;
    }
}
