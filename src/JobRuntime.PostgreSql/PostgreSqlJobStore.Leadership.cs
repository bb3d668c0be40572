using JobRuntime.Storage;
using Npgsql;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore : IJobStoreLeadership
{
    /// <summary>
    /// How long taking the leadership waits for the leader row's lock, and for the statement as a
    /// whole: another session holding the row (a node paused inside its transaction, an operator's
    /// <c>SELECT … FOR UPDATE</c>) makes this node "not the leader" for this pass instead of stalling it.
    /// </summary>
    private const string LeadershipTimeouts = "SELECT set_config('lock_timeout', '200ms', true), set_config('statement_timeout', '5s', true)";

    /// <inheritdoc />
    /// <remarks>
    /// One row in an unlogged table, taken by insert-on-conflict only when it is free, expired or
    /// already this owner's. Never blocks: when another session holds the row's lock for longer than
    /// 200 ms (or the statement runs past 5 s) the answer is <see langword="false"/>.
    /// </remarks>
    public async ValueTask<bool> TryLeadAsync(string owner, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        try
        {
            return await InTransactionAsync("take the maintenance leadership", async tx =>
            {
                await using var batch = tx.Batch(
                    (LeadershipTimeouts, []),
                    (
                        """
                        INSERT INTO {S}.leader AS l (name, owner, expires) VALUES ('maintenance', @owner, @expires)
                        ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires = EXCLUDED.expires
                        WHERE l.owner = EXCLUDED.owner OR l.expires <= @now
                        RETURNING owner
                        """,
                        [("owner", owner), ("expires", Ticks(tx.Now + ttl)), ("now", tx.NowTicks)]
                    ));
                await using var reader = await batch.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
                await reader.NextResultAsync(tx.Token).ConfigureAwait(false);
                return await reader.ReadAsync(tx.Token).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgreSqlJobStoreException ex) when (ex.InnerException is PostgresException { SqlState: "55P03" or "57014" })
        {
            // lock_not_available or query_canceled (the statement timeout): someone else holds the row.
            return false;
        }
    }

    /// <inheritdoc />
    public async ValueTask ResignAsync(string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        await InTransactionAsync("resign the maintenance leadership", async tx =>
        {
            await using var batch = tx.Batch(
                (LeadershipTimeouts, []),
                ("DELETE FROM {S}.leader WHERE name = 'maintenance' AND owner = @owner", [("owner", owner)]));
            return await batch.ExecuteNonQueryAsync(tx.Token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<string?> GetLeaderAsync(CancellationToken cancellationToken = default)
        => await ReadAsync("read the maintenance leader", async tx =>
            await tx.ScalarAsync("SELECT owner FROM {S}.leader WHERE name = 'maintenance' AND expires > @now", ("now", tx.NowTicks)).ConfigureAwait(false) as string,
            cancellationToken).ConfigureAwait(false);
}
