using JobRuntime.Storage;
using Npgsql;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore
{
    /// <summary>The most jobs one <c>INSERT … FROM unnest(…)</c> of <see cref="InsertManyAsync(IReadOnlyList{JobSnapshot}, CancellationToken)"/> carries.</summary>
    private const int UnnestChunk = 5000;

    /// <inheritdoc />
    /// <remarks>
    /// One transaction: runs of jobs without parents go in as <c>INSERT … SELECT FROM unnest(…)</c> statements of up
    /// to 5,000 rows, the others one by one (a job with parents locks and links them); a refusal rolls back everything.
    /// </remarks>
    public async ValueTask<IReadOnlyList<JobInsertResult>> InsertManyAsync(IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken = default)
    {
        JobStoreText.ThrowIfNotNewBatch(jobs);
        var seen = new HashSet<JobId>();
        foreach (var job in jobs)
        {
            if (!seen.Add(job.Id))
            {
                throw new ArgumentException($"A job with id {job.Id} is given twice.", nameof(jobs));
            }
        }

        return await InTransactionAsync("store jobs", tx => InsertAllAsync(tx, jobs), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores new jobs with a transaction the caller owns (<see cref="PostgreSqlTransactionalSubmit"/>): they exist only
    /// if it commits, and the nodes hear of them when it does (the notifications go in the same transaction).
    /// </summary>
    internal async Task<IReadOnlyList<JobInsertResult>> InsertInTransactionAsync(NpgsqlTransaction transaction, IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken)
    {
        JobStoreText.ThrowIfNotNewBatch(jobs);
        var connection = CheckTransaction(transaction);
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await InsertAllAsync(new Tx(this, connection, transaction, _time.GetUtcNow(), cancellationToken), jobs).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw new PostgreSqlJobStoreException($"Could not store the job in the caller's transaction (PostgreSQL: {ex.Message}); the transaction is aborted: roll it back.", ex);
        }
    }

    /// <summary>The transaction's connection, once it is known to be open and on the store's database.</summary>
    internal NpgsqlConnection CheckTransaction(NpgsqlTransaction transaction)
    {
        var connection = transaction.Connection
            ?? throw new InvalidOperationException("The transaction is over (committed or rolled back): submit with a transaction that is still open.");
        var database = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString).Database;
        if (database is not null && !string.Equals(connection.Database, database, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The transaction is on database '{connection.Database}', but the job store is on '{database}': a job can only be stored by a transaction on the store's database.");
        }

        return connection;
    }

    /// <summary>Runs of jobs without parents in <c>unnest</c> inserts, the others one by one, with their notifications.</summary>
    private async Task<IReadOnlyList<JobInsertResult>> InsertAllAsync(Tx tx, IReadOnlyList<JobSnapshot> jobs)
    {
        var results = new JobInsertResult[jobs.Count];
        var i = 0;
        while (i < jobs.Count)
        {
            if (GoesInBatch(jobs[i]))
            {
                var end = i;
                while (end < jobs.Count && end - i < UnnestChunk && GoesInBatch(jobs[end]))
                {
                    end++;
                }

                var chunk = new JobSnapshot[end - i];
                for (var k = 0; k < chunk.Length; k++)
                {
                    chunk[k] = jobs[i + k];
                }

                // The statement notifies the chunk's queues itself (delivered when the transaction commits).
                var outcomes = await InsertUnnestAsync(tx, chunk).ConfigureAwait(false);
                for (var k = 0; k < outcomes.Length; k++)
                {
                    results[i + k] = outcomes[k].Result ?? throw outcomes[k].Rethrow();
                }

                i = end;
            }
            else
            {
                var result = await InsertCoreAsync(tx, jobs[i]).ConfigureAwait(false);
                if (result.Created && result.Job.Status == JobStatus.Pending && result.Job.WaitReason != JobWaitReason.Dependencies)
                {
                    await NotifyJobsAvailableAsync(tx, result.Job.Queue).ConfigureAwait(false);
                }

                results[i++] = result;
            }
        }

        return (IReadOnlyList<JobInsertResult>)results;
    }
}
