using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore
{
    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<JobInsertResult>> InsertManyAsync(IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken = default)
    {
        JobStoreText.ThrowIfNotNewBatch(jobs);
        return await WriteAsync("store jobs", c => InsertMany(c, jobs), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One transaction (the writer's batch): every job, or none (a batch, a recurring occurrence's jobs).</summary>
    private static IReadOnlyList<JobInsertResult> InsertMany(WriteContext c, IReadOnlyList<JobSnapshot> jobs)
    {
        // Everything that can refuse is checked before anything changes (the writer's rule: a refused write changes nothing).
        var coming = new HashSet<JobId>();
        foreach (var job in jobs)
        {
            if (coming.Contains(job.Id) || Status(c, job.Id) is not null)
            {
                throw new ArgumentException($"A job with id {job.Id} already exists.", nameof(jobs));
            }

            foreach (var parent in job.DependsOn)
            {
                if (!coming.Contains(parent) && Status(c, parent) is null)
                {
                    throw new JobNotFoundException(parent);
                }
            }

            coming.Add(job.Id);
        }

        var results = new JobInsertResult[jobs.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = Insert(c, jobs[i]);
        }

        return results;
    }

    /// <summary>
    /// Stores new jobs with a transaction the caller owns on its own connection to the store's file
    /// (<see cref="SqliteTransactionalSubmit"/>): they exist only if it commits; the runtime sees them then
    /// (its signal poll notices another connection's commit).
    /// </summary>
    internal async Task<IReadOnlyList<JobInsertResult>> InsertInTransactionAsync(SqliteTransaction transaction, IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken)
    {
        JobStoreText.ThrowIfNotNewBatch(jobs);
        var connection = CheckTransaction(transaction);
        cancellationToken.ThrowIfCancellationRequested();
        var statements = new Dictionary<string, Statement>();
        try
        {
            // The writer's statements, prepared on the caller's connection: they run inside its transaction.
            return InsertMany(new WriteContext(connection.Handle!, _time.GetUtcNow(), statements), jobs);
        }
        catch (SqliteException ex)
        {
            throw new SqliteJobStoreException($"Could not store the job in the caller's transaction (SQLite: {ex.Message}). Begin the transaction with BeginTransaction() (IMMEDIATE, the default), so that it holds the write lock.", ex);
        }
        finally
        {
            foreach (var statement in statements.Values)
            {
                statement.Dispose();
            }
        }
    }

    /// <summary>The transaction's connection, once it is known to be open, on this store's file, with the store's tables ready.</summary>
    internal SqliteConnection CheckTransaction(SqliteTransaction transaction)
    {
        var connection = transaction.Connection
            ?? throw new InvalidOperationException("The transaction is over (committed or rolled back): submit with a transaction that is still open.");
        if (!SameFile(connection.DataSource))
        {
            throw new InvalidOperationException($"The transaction is on '{connection.DataSource}', but the job store is on '{DataSource}': a job can only be stored by a transaction on the store's file.");
        }

        // The caller holds the file's write lock: the store cannot create or migrate its tables now. Ready
        // tables (this runtime started, or another process made them) are all it needs.
        if (Volatile.Read(ref _initialized) is not { IsCompletedSuccessfully: true } && SchemaVersionOf(connection, transaction) != SchemaVersion)
        {
            throw new InvalidOperationException(
                $"The job store's tables in '{DataSource}' are not created (or not migrated) yet, and the transaction's write lock keeps the store from doing it now: let the runtime start first (a host starts it; without one, any call such as IJobManager.ListAsync does) before submitting in a transaction.");
        }

        return connection;
    }

    private static int SchemaVersionOf(SqliteConnection connection, SqliteTransaction transaction)
    {
        try
        {
            return RecordedVersion(connection, transaction);
        }
        catch (SqliteException)
        {
            // No migrations table: the store never opened this file.
            return 0;
        }
    }

    private bool SameFile(string other)
    {
        if (string.IsNullOrEmpty(other) || string.IsNullOrEmpty(DataSource))
        {
            return false;
        }

        var (mine, theirs) = (Path.GetFullPath(DataSource), Path.GetFullPath(other));
        // Inode 0: the identity could not be read (as where the writer checks its file); compare the paths then.
        return FileIdentity.Of(mine) is { Inode: not 0 } a && FileIdentity.Of(theirs) is { Inode: not 0 } b ? a == b : string.Equals(mine, theirs, StringComparison.Ordinal);
    }
}
