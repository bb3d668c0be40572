using Npgsql;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore
{
    /// <summary>
    /// A queue table changes faster than autovacuum keeps up with (by default it looks at most once a
    /// minute, and re-analyses after 10 % of the rows changed, vacuums after 20 % died). Two things
    /// go wrong in between. Statistics: after a burst of submits into a small table the planner would
    /// claim from the wrong index and sort every ready row. Dead rows: every claim leaves the ready
    /// index an entry for the job's old version, at the head of the index where the next claim starts
    /// its scan, so each claim walks past all jobs claimed since the last vacuum (in a 150,000-job
    /// burn-down a quarter of the server's time went into that walk). At most every few seconds,
    /// each node reads the table's counters, in the background (the claim that noticed does not
    /// wait), and analyses the table when it changed more rows than it held at the last analysis, and
    /// vacuums it when more than an eighth of it (at least 5,000 rows) are dead versions.
    /// </summary>
    private void MaintainTableIfDue()
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _maintenanceCheckedAt);
        if (last != 0 && _time.GetElapsedTime(last, now) < MaintenanceCheckInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _maintenanceCheckedAt, now, last) != last
            || Volatile.Read(ref _maintenance) is { IsCompleted: false })
        {
            return;
        }

        Volatile.Write(ref _maintenance, Task.Run(async () =>
        {
            try
            {
                await MaintainTableAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is PostgreSqlJobStoreException or Npgsql.NpgsqlException or ObjectDisposedException)
            {
                // Maintenance is an optimisation: the next check tries again; the claims themselves report real faults.
                Log.MaintenanceFailed(_logger, ex, _schema);
            }
        }));
    }

    private string MaintenanceLock => "jobruntime-maintenance:" + _schema;

    /// <summary>Analyses and vacuums the jobs table if its counters say so (see <see cref="MaintainTableIfDue"/>).</summary>
    /// <returns>Whether it ran ANALYZE and whether it ran VACUUM.</returns>
    internal async Task<(bool Analyzed, bool Vacuumed)> MaintainTableAsync()
    {
        var (analyzed, vacuum) = await InTransactionAsync("refresh the jobs table's statistics", async tx =>
        {
            // Each ANALYZE of 100,000 rows costs 0.1–0.4 s of a core: a steady stream of jobs changes as
            // many rows as the table holds only every so often, so a long burn-down is analysed a few
            // times, not every check. One node at a time. Only a role that owns the table (or a
            // superuser) may analyse or vacuum it; for any other PostgreSQL would log a warning every time.
            bool stale = false, bloated = false;
            await using (var counters = tx.Command(
                """
                SELECT m.owner AND s.n_mod_since_analyze > GREATEST(1000, c.reltuples) AND pg_try_advisory_xact_lock(hashtext(@key)),
                       m.owner AND s.n_dead_tup > GREATEST(5000, c.reltuples / 8)
                FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
                CROSS JOIN LATERAL (SELECT pg_has_role(c.relowner, 'USAGE') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS owner) m
                WHERE s.relid = '{S}.jobs'::regclass
                """,
                ("key", MaintenanceLock)))
            {
                await using var reader = await counters.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
                if (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
                {
                    stale = reader.GetBoolean(0);
                    bloated = reader.GetBoolean(1);
                }
            }

            if (stale)
            {
                await tx.ExecuteAsync("ANALYZE {S}.jobs").ConfigureAwait(false);
            }

            return (stale, bloated && _options.VacuumJobsTable);
        }, CancellationToken.None).ConfigureAwait(false);

        var vacuumed = false;
        if (vacuum)
        {
            // Outside a transaction (VACUUM cannot run in one), so under a session lock: one node at a
            // time, and not while another analyses. SKIP_LOCKED: if autovacuum is at the table this
            // returns at once.
            await OnConnectionAsync("vacuum the jobs table", async tx =>
            {
                if (await tx.ScalarAsync("SELECT pg_try_advisory_lock(hashtext(@key))", ("key", MaintenanceLock)).ConfigureAwait(false) is true)
                {
                    try
                    {
                        await tx.ExecuteAsync("VACUUM (SKIP_LOCKED) {S}.jobs").ConfigureAwait(false);
                        vacuumed = true;
                    }
                    finally
                    {
                        await tx.ExecuteAsync("SELECT pg_advisory_unlock(hashtext(@key))", ("key", MaintenanceLock)).ConfigureAwait(false);
                    }
                }

                return 0;
            }, transactional: false, CancellationToken.None).ConfigureAwait(false);
        }

        return (analyzed, vacuumed);
    }
}
