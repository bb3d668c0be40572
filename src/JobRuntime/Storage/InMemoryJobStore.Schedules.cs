namespace JobRuntime.Storage;

internal sealed partial class InMemoryJobStore : IJobStoreSchedules
{
    private readonly SortedDictionary<string, JobSchedule> _schedules = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<JobSchedule> SaveScheduleAsync(string name, string definition, DateTimeOffset? nextFireAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(definition);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var saved = _schedules.TryGetValue(name, out var existing)
                ? existing with { Definition = definition, NextFireAt = existing.Paused ? existing.NextFireAt : nextFireAt, Version = existing.Version + 1 }
                : new JobSchedule(name, definition, Paused: false, nextFireAt, LastFireAt: null, LastJobId: null, Version: 1);
            _schedules[name] = saved;
            return new(saved);
        }
    }

    /// <inheritdoc />
    public ValueTask<JobSchedule?> GetScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return new(_schedules.GetValueOrDefault(name));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JobSchedule>> ListSchedulesAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return new((IReadOnlyList<JobSchedule>)[.. _schedules.Values]);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return new(_schedules.Remove(name));
        }
    }

    /// <inheritdoc />
    public ValueTask<JobSchedule?> SetSchedulePausedAsync(string name, bool paused, DateTimeOffset? nextFireAt, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_schedules.TryGetValue(name, out var existing))
            {
                return new((JobSchedule?)null);
            }

            var changed = existing with { Paused = paused, NextFireAt = paused ? existing.NextFireAt : nextFireAt, Version = existing.Version + 1 };
            _schedules[name] = changed;
            return new(changed);
        }
    }

    /// <inheritdoc />
    public ValueTask<DueSchedules> GetDueSchedulesAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var due = new List<JobSchedule>();
            DateTimeOffset? next = null;
            foreach (var schedule in _schedules.Values)
            {
                if (schedule.Paused || schedule.NextFireAt is not { } at)
                {
                    continue;
                }

                if (at <= now)
                {
                    due.Add(schedule);
                }
                else if (next is null || at < next)
                {
                    next = at;
                }
            }

            return new(new DueSchedules(due, next));
        }
    }

    /// <inheritdoc />
    public ValueTask<ScheduleFireResult> FireAsync(ScheduleFire fire, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fire);
        foreach (var job in fire.Jobs)
        {
            JobStoreText.ThrowIfNotNew(job);
        }

        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_schedules.TryGetValue(fire.Name, out var schedule) || schedule.Version != fire.ExpectedVersion)
            {
                return new(new ScheduleFireResult(false, []));
            }

            var stored = InsertManyLocked(fire.Jobs).Select(r => r.Job).ToList();
            _schedules[fire.Name] = schedule with
            {
                NextFireAt = fire.FireAt is null ? schedule.NextFireAt : fire.NextFireAt,
                LastFireAt = fire.FireAt ?? schedule.LastFireAt,
                LastJobId = stored.Count > 0 ? stored[^1].Id : schedule.LastJobId,
                Version = schedule.Version + 1,
            };
            return new(new ScheduleFireResult(true, stored));
        }
    }
}
