using JobRuntime.Storage;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore : IJobStoreStatistics
{
    /// <inheritdoc />
    /// <remarks>Reads the ready jobs' partial index and the running jobs, not the finished ones.</remarks>
    public async ValueTask<IReadOnlyList<JobQueueStatistics>> GetQueueStatisticsAsync(CancellationToken cancellationToken = default)
        => await ReadAsync("count the queues", connection =>
        {
            var queues = new Dictionary<string, JobQueueStatistics>(StringComparer.Ordinal);
            using (var ready = connection.CreateCommand())
            {
                ready.CommandText = $"SELECT queue, COUNT(*), MIN(scheduled_at) FROM jr_jobs INDEXED BY jr_jobs_ready_queue WHERE {Ready} AND scheduled_at <= $now GROUP BY queue";
                ready.Parameters.AddWithValue("$now", Ticks(_time.GetUtcNow()));
                using var reader = ready.ExecuteReader();
                while (reader.Read())
                {
                    var queue = reader.GetString(0);
                    queues[queue] = new JobQueueStatistics(queue, reader.GetInt64(1), 0, Time(reader.GetInt64(2)));
                }
            }

            using (var running = connection.CreateCommand())
            {
                running.CommandText = "SELECT queue, COUNT(*) FROM jr_jobs WHERE status = 1 GROUP BY queue";
                using var reader = running.ExecuteReader();
                while (reader.Read())
                {
                    var queue = reader.GetString(0);
                    queues[queue] = queues.TryGetValue(queue, out var known)
                        ? known with { Running = reader.GetInt64(1) }
                        : new JobQueueStatistics(queue, 0, reader.GetInt64(1), null);
                }
            }

            return (IReadOnlyList<JobQueueStatistics>)[.. queues.Values];
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<JobCounts> CountAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return await ReadAsync("count jobs", connection =>
        {
            using var command = connection.CreateCommand();
            var where = Filter(command, query);
            command.CommandText = $"""
                SELECT status, COUNT(*), TOTAL(CASE WHEN status IN (0, 1) AND progress_total > 0
                    THEN MIN(1.0, MAX(0.0, CAST(progress_current AS REAL) / progress_total)) ELSE 0 END)
                FROM jr_jobs {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} GROUP BY status
                """;
            using var reader = command.ExecuteReader();
            var counts = new long[6];
            var progress = 0.0;
            while (reader.Read())
            {
                var status = reader.GetInt32(0);
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
