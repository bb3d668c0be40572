using JobRuntime.Storage;

namespace JobRuntime.PostgreSql;

public sealed partial class PostgreSqlJobStore : IJobStoreLeadership
{
    /// <inheritdoc />
    /// <remarks>One row in an unlogged table, taken by insert-on-conflict only when it is free, expired or already this owner's.</remarks>
    public async ValueTask<bool> TryLeadAsync(string owner, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        return await InTransactionAsync("take the maintenance leadership", async tx =>
            await tx.ScalarAsync(
                """
                INSERT INTO {S}.leader AS l (name, owner, expires) VALUES ('maintenance', @owner, @expires)
                ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires = EXCLUDED.expires
                WHERE l.owner = EXCLUDED.owner OR l.expires <= @now
                RETURNING owner
                """,
                ("owner", owner), ("expires", Ticks(tx.Now + ttl)), ("now", tx.NowTicks)).ConfigureAwait(false) is not null,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask ResignAsync(string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        await InTransactionAsync("resign the maintenance leadership", tx =>
            tx.ExecuteAsync("DELETE FROM {S}.leader WHERE name = 'maintenance' AND owner = @owner", ("owner", owner)), cancellationToken).ConfigureAwait(false);
    }
}
