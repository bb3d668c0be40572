using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore : IJobStoreSchedules
{
    private const string ScheduleColumns = "name, definition, paused, next_fire_at, last_fire_at, last_job_id, version";

    /// <inheritdoc />
    public async ValueTask<JobSchedule> SaveScheduleAsync(string name, string definition, DateTimeOffset? nextFireAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(definition);
        return await WriteAsync("save a schedule", c =>
        {
            var save = c.Command($"""
                INSERT INTO jr_schedules (name, definition, paused, next_fire_at, version) VALUES ($name, $definition, 0, $next, 1)
                ON CONFLICT (name) DO UPDATE SET definition = excluded.definition,
                    next_fire_at = CASE WHEN paused = 1 THEN next_fire_at ELSE excluded.next_fire_at END, version = version + 1
                RETURNING {ScheduleColumns}
                """);
            save.Bind("$name", name);
            save.Bind("$definition", definition);
            save.Bind("$next", nextFireAt?.UtcTicks);
            return save.Rows(ReadSchedule)[0];
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<JobSchedule?> GetScheduleAsync(string name, CancellationToken cancellationToken = default)
        => (await QuerySchedulesAsync("read a schedule", $"SELECT {ScheduleColumns} FROM jr_schedules WHERE name = $name", ("$name", name), cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<JobSchedule>> ListSchedulesAsync(CancellationToken cancellationToken = default)
        => await QuerySchedulesAsync("list schedules", $"SELECT {ScheduleColumns} FROM jr_schedules ORDER BY name", null, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default)
        => await WriteAsync("delete a schedule", c =>
        {
            var delete = c.Command("DELETE FROM jr_schedules WHERE name = $name");
            delete.Bind("$name", name);
            return delete.Execute() > 0;
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<JobSchedule?> SetSchedulePausedAsync(string name, bool paused, DateTimeOffset? nextFireAt, CancellationToken cancellationToken = default)
        => await WriteAsync("pause or resume a schedule", c =>
        {
            var update = c.Command($"""
                UPDATE jr_schedules SET paused = $paused, next_fire_at = CASE WHEN $paused = 1 THEN next_fire_at ELSE $next END, version = version + 1
                WHERE name = $name RETURNING {ScheduleColumns}
                """);
            update.Bind("$name", name);
            update.Bind("$paused", paused ? 1 : 0);
            update.Bind("$next", nextFireAt?.UtcTicks);
            return update.Rows(ReadSchedule).FirstOrDefault();
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<DueSchedules> GetDueSchedulesAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
        => await ReadAsync("find due schedules", connection =>
        {
            var due = new List<JobSchedule>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = $"SELECT {ScheduleColumns} FROM jr_schedules WHERE paused = 0 AND next_fire_at <= $now ORDER BY next_fire_at";
                command.Parameters.AddWithValue("$now", Ticks(now));
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    due.Add(ReadSchedule(new ReaderRow(reader)));
                }
            }

            using var next = connection.CreateCommand();
            next.CommandText = "SELECT MIN(next_fire_at) FROM jr_schedules WHERE paused = 0 AND next_fire_at > $now";
            next.Parameters.AddWithValue("$now", Ticks(now));
            return new DueSchedules(due, next.ExecuteScalar() is long ticks ? Time(ticks) : null);
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<ScheduleFireResult> FireAsync(ScheduleFire fire, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fire);
        foreach (var job in fire.Jobs)
        {
            JobStoreText.ThrowIfNotNew(job);
        }

        return await WriteAsync("record a schedule's occurrence", c => Fire(c, fire), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One transaction (the writer's batch): the version check, the jobs and the schedule's new state, or nothing.</summary>
    private static ScheduleFireResult Fire(WriteContext c, ScheduleFire fire)
    {
        var version = c.Command("SELECT version FROM jr_schedules WHERE name = $name");
        version.Bind("$name", fire.Name);
        if (version.ScalarInt64() != fire.ExpectedVersion)
        {
            return new ScheduleFireResult(false, []);
        }

        // The jobs all or none, checked before anything changes (the writer's rule: a refused write changes nothing).
        var stored = InsertMany(c, fire.Jobs).Select(r => r.Job).ToList();

        var update = c.Command("""
            UPDATE jr_schedules SET next_fire_at = CASE WHEN $fire IS NULL THEN next_fire_at ELSE $next END,
                last_fire_at = COALESCE($fire, last_fire_at), last_job_id = COALESCE($last, last_job_id), version = version + 1
            WHERE name = $name
            """);
        update.Bind("$name", fire.Name);
        update.Bind("$fire", fire.FireAt?.UtcTicks);
        update.Bind("$next", fire.NextFireAt?.UtcTicks);
        update.Bind("$last", stored.Count > 0 ? stored[^1].Id : null);
        update.Execute();
        return new ScheduleFireResult(true, stored);
    }

    private async Task<List<JobSchedule>> QuerySchedulesAsync(string operation, string sql, (string Name, string Value)? parameter, CancellationToken cancellationToken)
        => await ReadAsync(operation, connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            if (parameter is { } p)
            {
                command.Parameters.AddWithValue(p.Name, p.Value);
            }

            var schedules = new List<JobSchedule>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                schedules.Add(ReadSchedule(new ReaderRow(reader)));
            }

            return schedules;
        }, cancellationToken).ConfigureAwait(false);

    private static JobSchedule ReadSchedule<TRow>(TRow row)
        where TRow : IRow
        => new(
            row.Text(0),
            row.Text(1),
            row.Int64(2) != 0,
            row.IsNull(3) ? null : Time(row.Int64(3)),
            row.IsNull(4) ? null : Time(row.Int64(4)),
            row.IsNull(5) ? null : row.Id(5),
            row.Int64(6));
}
