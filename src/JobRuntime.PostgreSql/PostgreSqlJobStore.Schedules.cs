using JobRuntime.Storage;
using Npgsql;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore : IJobStoreSchedules
{
    private const string ScheduleColumns = "name, definition, paused, next_fire_at, last_fire_at, last_job_id, version";

    /// <inheritdoc />
    public async ValueTask<JobSchedule> SaveScheduleAsync(string name, string definition, DateTimeOffset? nextFireAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(definition);
        return (await InTransactionAsync("save a schedule", tx => SchedulesAsync(tx, $$"""
            INSERT INTO {S}.schedules AS s (name, definition, paused, next_fire_at, version) VALUES (@name, @definition, false, @next::bigint, 1)
            ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition,
                next_fire_at = CASE WHEN s.paused THEN s.next_fire_at ELSE EXCLUDED.next_fire_at END, version = s.version + 1
            RETURNING {{ScheduleColumns}}
            """, ("name", name), ("definition", PostgreSqlText.Clean(definition)), ("next", nextFireAt?.UtcTicks)), cancellationToken).ConfigureAwait(false))[0];
    }

    /// <inheritdoc />
    public async ValueTask<JobSchedule?> GetScheduleAsync(string name, CancellationToken cancellationToken = default)
        => (await ReadAsync("read a schedule", tx => SchedulesAsync(tx, $"SELECT {ScheduleColumns} FROM {{S}}.schedules WHERE name = @name", ("name", name)), cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<JobSchedule>> ListSchedulesAsync(CancellationToken cancellationToken = default)
        => await ReadAsync("list schedules", tx => SchedulesAsync(tx, $"SELECT {ScheduleColumns} FROM {{S}}.schedules ORDER BY name COLLATE \"C\""), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default)
        => await InTransactionAsync("delete a schedule", async tx => await tx.ExecuteAsync("DELETE FROM {S}.schedules WHERE name = @name", ("name", name)).ConfigureAwait(false) > 0, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<JobSchedule?> SetSchedulePausedAsync(string name, bool paused, DateTimeOffset? nextFireAt, CancellationToken cancellationToken = default)
        => (await InTransactionAsync("pause or resume a schedule", tx => SchedulesAsync(tx, $$"""
            UPDATE {S}.schedules SET paused = @paused, next_fire_at = CASE WHEN @paused THEN next_fire_at ELSE @next::bigint END, version = version + 1
            WHERE name = @name RETURNING {{ScheduleColumns}}
            """, ("name", name), ("paused", paused), ("next", nextFireAt?.UtcTicks)), cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public async ValueTask<DueSchedules> GetDueSchedulesAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
        => await ReadAsync("find due schedules", async tx =>
        {
            var due = await SchedulesAsync(tx, $"SELECT {ScheduleColumns} FROM {{S}}.schedules WHERE NOT paused AND next_fire_at <= @now ORDER BY next_fire_at", ("now", Ticks(now))).ConfigureAwait(false);
            var next = await tx.ScalarAsync("SELECT MIN(next_fire_at) FROM {S}.schedules WHERE NOT paused AND next_fire_at > @now", ("now", Ticks(now))).ConfigureAwait(false);
            return new DueSchedules(due, next is long ticks ? Time(ticks) : null);
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<ScheduleFireResult> FireAsync(ScheduleFire fire, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fire);
        foreach (var job in fire.Jobs)
        {
            JobStoreText.ThrowIfNotNew(job);
        }

        return await InTransactionAsync("record a schedule's occurrence", async tx =>
        {
            // The row lock makes the nodes that fire this occurrence at once take turns; the version
            // lets only the first through.
            var version = await tx.ScalarAsync("SELECT version FROM {S}.schedules WHERE name = @name FOR UPDATE", ("name", fire.Name)).ConfigureAwait(false);
            if (version is not long current || current != fire.ExpectedVersion)
            {
                return new ScheduleFireResult(false, []);
            }

            // As a batch is stored (its notifications included): a job refused (an unknown parent) throws, and the
            // transaction takes nothing with it.
            var stored = fire.Jobs.Count == 0 ? [] : (await InsertAllAsync(tx, fire.Jobs).ConfigureAwait(false)).Select(r => r.Job).ToList();

            await tx.ExecuteAsync(
                """
                UPDATE {S}.schedules SET next_fire_at = CASE WHEN @fire::bigint IS NULL THEN next_fire_at ELSE @next::bigint END,
                    last_fire_at = COALESCE(@fire::bigint, last_fire_at), last_job_id = COALESCE(@last::uuid, last_job_id), version = version + 1
                WHERE name = @name
                """,
                ("name", fire.Name), ("fire", fire.FireAt?.UtcTicks), ("next", fire.NextFireAt?.UtcTicks), ("last", stored.Count > 0 ? Key(stored[^1].Id) : null)).ConfigureAwait(false);
            return new ScheduleFireResult(true, stored);
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<JobSchedule>> SchedulesAsync(Tx tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var schedules = new List<JobSchedule>();
        await using var command = tx.Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
        while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
        {
            schedules.Add(new JobSchedule(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetBoolean(2),
                reader.IsDBNull(3) ? null : Time(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : Time(reader.GetInt64(4)),
                reader.IsDBNull(5) ? null : new JobId(reader.GetGuid(5)),
                reader.GetInt64(6)));
        }

        return schedules;
    }
}
