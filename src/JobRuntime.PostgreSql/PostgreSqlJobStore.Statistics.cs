using JobRuntime.Storage;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore : IJobStoreStatistics
{
    /// <inheritdoc />
    /// <remarks>One statement over the ready jobs' and the running jobs' partial indexes, not the finished jobs.</remarks>
    public async ValueTask<IReadOnlyList<JobQueueStatistics>> GetQueueStatisticsAsync(CancellationToken cancellationToken = default)
        => await ReadAsync("count the queues", async tx =>
        {
            await using var command = tx.Command(
                """
                SELECT queue, SUM(ready)::bigint, SUM(running)::bigint, MIN(oldest) FROM (
                    SELECT queue, COUNT(*) AS ready, 0 AS running, MIN(scheduled_at) AS oldest
                    FROM {S}.jobs WHERE status = 0 AND pending_parents = 0 AND scheduled_at <= @now GROUP BY queue
                    UNION ALL
                    SELECT queue, 0, COUNT(*), NULL FROM {S}.jobs WHERE status = 1 GROUP BY queue) q
                GROUP BY queue
                """,
                ("now", tx.NowTicks));
            var queues = new List<JobQueueStatistics>();
            await using var reader = await command.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
            while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
            {
                queues.Add(new JobQueueStatistics(
                    reader.GetString(0),
                    reader.GetInt64(1),
                    reader.GetInt64(2),
                    reader.IsDBNull(3) ? null : Time(reader.GetInt64(3))));
            }

            return (IReadOnlyList<JobQueueStatistics>)queues;
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<JobCounts> CountAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (where, parameters) = Filter(query);
        var filter = where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : string.Empty;
        var sql = $$"""
            SELECT status, COUNT(*), COALESCE(SUM(CASE WHEN status IN (0, 1) AND progress_total > 0
                THEN LEAST(1.0, GREATEST(0.0, progress_current::float8 / progress_total)) ELSE 0 END), 0)::float8
            FROM {S}.jobs {{filter}} GROUP BY status
            """;
        return await ReadAsync("count jobs", async tx =>
        {
            await using var command = tx.Command(sql, [.. parameters]);
            await using var reader = await command.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
            var counts = new long[6];
            var progress = 0.0;
            while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
            {
                var status = reader.GetInt16(0);
                if (status is >= 0 and < 6)
                {
                    counts[status] = reader.GetInt64(1);
                }

                progress += reader.GetDouble(2);
            }

            return JobCounts.FromStatusCounts(counts, progress);
        }, cancellationToken).ConfigureAwait(false);
    }
}
