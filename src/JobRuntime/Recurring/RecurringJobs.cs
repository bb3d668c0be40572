using JobRuntime.Engine;
using JobRuntime.Storage;
using Microsoft.Extensions.Options;

namespace JobRuntime;

/// <summary>The default <see cref="IRecurringJobs"/>: schedules kept by the store's <see cref="IJobStoreSchedules"/>.</summary>
internal sealed class RecurringJobs(
    IJobStore store,
    JobHandlerRegistry registry,
    JobEngine engine,
    IOptions<JobRuntimeOptions> runtimeOptions,
    TimeProvider time,
    IEnumerable<RecurringJobRegistration> registrations,
    IJobStoreSchedules? schedules = null) : IRecurringJobs
{
    private readonly JobRuntimeOptions _options = runtimeOptions.Value;
    private readonly Lock _gate = new();
    private Task? _registered;

    private IJobStoreSchedules Schedules => schedules
        ?? throw new NotSupportedException($"The configured store ({store.GetType().Name}) does not keep recurring jobs (it does not implement IJobStoreSchedules).");

    public ValueTask<RecurringJobInfo> AddOrUpdateAsync<TArgs>(string name, string cron, TArgs args, Action<RecurringJobOptions>? configure = null, CancellationToken cancellationToken = default)
        => SaveAsync(name, registry.GetByArgs(typeof(TArgs)), cron, args, configure, cancellationToken);

    public ValueTask<RecurringJobInfo> AddOrUpdateAsync<TArgs>(string name, string jobType, string cron, TArgs args, Action<RecurringJobOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        return SaveAsync(name, registry.Get(jobType), cron, args, configure, cancellationToken);
    }

    public async ValueTask<bool> RemoveAsync(string name, CancellationToken cancellationToken = default)
        => await Schedules.DeleteScheduleAsync(name, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> PauseAsync(string name, CancellationToken cancellationToken = default)
        => await Schedules.SetSchedulePausedAsync(name, paused: true, nextFireAt: null, cancellationToken).ConfigureAwait(false) is not null;

    public async ValueTask<bool> ResumeAsync(string name, CancellationToken cancellationToken = default)
    {
        if (await Schedules.GetScheduleAsync(name, cancellationToken).ConfigureAwait(false) is not { } schedule)
        {
            return false;
        }

        var definition = ScheduleDefinition.FromJson(schedule.Definition);
        var next = definition.NextAfter(ScheduleDefinition.Parse(definition.Cron), time.GetUtcNow());
        var resumed = await Schedules.SetSchedulePausedAsync(name, paused: false, next, cancellationToken).ConfigureAwait(false) is not null;
        engine.WakeScheduler();
        return resumed;
    }

    public async ValueTask<JobId> TriggerAsync(string name, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            var schedule = await Schedules.GetScheduleAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw new KeyNotFoundException($"No recurring job is named '{name}'.");
            var definition = ScheduleDefinition.FromJson(schedule.Definition);
            var now = time.GetUtcNow();
            var job = JobFactory.Create(registry.Get(definition.JobType), definition.Payload, _options, now, now, definition.JobOptions(name, fireAt: null, []), System.Diagnostics.Activity.Current?.Id);

            // The schedule's fire times stay; its last job becomes this one. Retried when the schedule moved meanwhile.
            var result = await Schedules.FireAsync(new ScheduleFire(name, schedule.Version, FireAt: null, schedule.NextFireAt, [job]), cancellationToken).ConfigureAwait(false);
            if (result.Fired)
            {
                var stored = result.Jobs[0];
                engine.Notifier.Submitted(stored);
                engine.EnsureStarted();
                engine.Wake();
                return stored.Id;
            }

            if (attempt >= 10)
            {
                throw new InvalidOperationException($"Recurring job '{name}' kept changing while it was triggered; try again.");
            }
        }
    }

    public async ValueTask<RecurringJobInfo?> GetAsync(string name, CancellationToken cancellationToken = default)
        => await Schedules.GetScheduleAsync(name, cancellationToken).ConfigureAwait(false) is { } schedule
            ? await DescribeAsync(schedule, cancellationToken).ConfigureAwait(false)
            : null;

    public async ValueTask<IReadOnlyList<RecurringJobInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var all = await Schedules.ListSchedulesAsync(cancellationToken).ConfigureAwait(false);
        var infos = new List<RecurringJobInfo>(all.Count);
        foreach (var schedule in all)
        {
            infos.Add(await DescribeAsync(schedule, cancellationToken).ConfigureAwait(false));
        }

        return infos;
    }

    /// <summary>Stores the recurring jobs registered in code, once per process (at host start, or when the runtime first starts).</summary>
    internal Task ApplyRegistrationsAsync(CancellationToken cancellationToken)
    {
        if (schedules is null || !registrations.Any())
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            return _registered is { IsFaulted: false, IsCanceled: false } done ? done : _registered = ApplyAsync(cancellationToken);
        }

        async Task ApplyAsync(CancellationToken token)
        {
            foreach (var registration in registrations)
            {
                await registration.Apply(this, token).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<RecurringJobInfo> SaveAsync<TArgs>(string name, JobHandlerDescriptor descriptor, string cron, TArgs args, Action<RecurringJobOptions>? configure, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cron);
        var options = new RecurringJobOptions();
        configure?.Invoke(options);
        var payload = descriptor.SerializeArgs(args, _options.SerializerOptions);
        var (definition, expression) = ScheduleDefinition.Create(name, descriptor.Name, cron, payload, options);
        var json = definition.ToJson();
        var existing = await Schedules.GetScheduleAsync(name, cancellationToken).ConfigureAwait(false);
        if (existing?.Definition == json)
        {
            // Unchanged (every node registers its recurring jobs as it starts): nothing to write, and
            // no firing node's version check is disturbed.
            return await DescribeAsync(existing, cancellationToken).ConfigureAwait(false);
        }

        // The same cron and time zone keep the pending occurrence (one not fired yet is not lost to an
        // update); a new expression starts from now.
        var previous = existing is null ? null : ScheduleDefinition.FromJson(existing.Definition);
        var next = previous is not null && previous.Cron == definition.Cron && previous.TimeZone == definition.TimeZone
            ? existing!.NextFireAt
            : definition.NextAfter(expression, time.GetUtcNow());
        var saved = await Schedules.SaveScheduleAsync(name, json, next, cancellationToken).ConfigureAwait(false);
        engine.EnsureStarted();
        engine.WakeScheduler();
        return await DescribeAsync(saved, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<RecurringJobInfo> DescribeAsync(JobSchedule schedule, CancellationToken cancellationToken)
    {
        var definition = ScheduleDefinition.FromJson(schedule.Definition);
        var last = schedule.LastJobId is { } id ? await store.GetAsync(id, cancellationToken).ConfigureAwait(false) : null;
        return new RecurringJobInfo
        {
            Name = schedule.Name,
            JobType = definition.JobType,
            Cron = definition.Cron,
            TimeZone = definition.TimeZone,
            Paused = schedule.Paused,
            NextFireAt = schedule.NextFireAt,
            LastFireAt = schedule.LastFireAt,
            LastJobId = schedule.LastJobId,
            LastJobStatus = last?.Status,
            Misfire = definition.Misfire,
            Overlap = definition.Overlap,
        };
    }
}
