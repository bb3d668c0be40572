using JobRuntime.Storage;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Fires recurring jobs: finds the schedules whose next occurrence has come, works out which jobs
/// the occurrence makes (misfire and overlap policies), and has the store record it with its jobs
/// atomically, guarded by the schedule's version — so however many nodes fire the same occurrence,
/// its jobs are made once. Sleeps until the next occurrence or the poll interval.
/// </summary>
internal sealed class Scheduler(
    IJobStoreSchedules schedules,
    IJobStore store,
    JobHandlerRegistry registry,
    LifecycleNotifier notifier,
    Action wakeClaims,
    Func<CancellationToken, Task> applyRegistrations,
    JobRuntimeOptions options,
    TimeProvider time,
    ILogger logger) : IDisposable
{
    /// <summary>The most occurrences walked for one schedule at once (a per-second schedule after a long outage).</summary>
    private const int MaxOccurrencesWalked = 100_000;

    private readonly AsyncSignal _wake = new();

    /// <summary>Looks at the schedules now (one was added, changed or resumed).</summary>
    public void Wake() => _wake.Set();

    public void Dispose() => _wake.Dispose();

    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            await applyRegistrations(stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Telemetry.Log.StoreError(logger, ex, "register the recurring jobs", TimeSpan.Zero);
        }

        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            DateTimeOffset? nextDue = null;
            try
            {
                nextDue = await FireDueAsync(stopping).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var delay = Backoff.AfterStoreFailure(++failures);
                Telemetry.Log.StoreError(logger, ex, "fire recurring jobs", delay);
                await Backoff.IgnoreCancellation(Task.Delay(delay, time, stopping)).ConfigureAwait(false);
                continue;
            }

            var wait = options.PollInterval * (1 - (0.2 * Random.Shared.NextDouble()));
            if (nextDue is { } at && at - time.GetUtcNow() < wait)
            {
                wait = at - time.GetUtcNow();
            }

            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await _wake.WaitAsync(wait, time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Fires every due schedule once; returns when the next of the others is due.</summary>
    internal async Task<DateTimeOffset?> FireDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var due = await schedules.GetDueSchedulesAsync(now, cancellationToken).ConfigureAwait(false);
        foreach (var schedule in due.Due)
        {
            try
            {
                await FireAsync(schedule, now, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not JobStoreException)
            {
                // One broken schedule (a time zone this machine does not know, say) must not stop the others.
                Telemetry.Log.ScheduleFailed(logger, ex, schedule.Name);
            }
        }

        return due.NextDueAt;
    }

    /// <summary>Records one due schedule's occurrence(s), unless another node was first.</summary>
    internal async Task FireAsync(JobSchedule schedule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (schedule.NextFireAt is not { } first)
        {
            return;
        }

        var definition = ScheduleDefinition.FromJson(schedule.Definition);
        if (!registry.TryGet(definition.JobType, out var descriptor))
        {
            // Another node (one with the handler) fires it; this one would make jobs it cannot describe.
            return;
        }

        var expression = ScheduleDefinition.Parse(definition.Cron);
        var zone = definition.Zone();

        // Every occurrence up to now, the latest MaxMissedRuns (+1 on time) kept.
        var occurrences = new Queue<DateTimeOffset>();
        DateTimeOffset? next = first;
        for (var walked = 0; next is { } at && at <= now; walked++)
        {
            occurrences.Enqueue(at);
            if (occurrences.Count > definition.MaxMissedRuns + 1)
            {
                occurrences.Dequeue();
            }

            next = walked < MaxOccurrencesWalked ? expression.GetNextOccurrence(at, zone) : expression.GetNextOccurrence(now, zone);
        }

        var last = occurrences.Count > 0 ? occurrences.Last() : first;
        var onTime = occurrences.Where(o => now - o <= definition.MisfireThreshold).ToList();
        var missed = occurrences.Where(o => now - o > definition.MisfireThreshold).ToList();
        var runs = new List<DateTimeOffset>();
        switch (definition.Misfire)
        {
            case MisfirePolicy.RunEach:
                runs.AddRange(missed.TakeLast(definition.MaxMissedRuns));
                break;
            case MisfirePolicy.RunOnce when onTime.Count == 0 && missed.Count > 0:
                runs.Add(missed[^1]);
                break;
        }

        runs.AddRange(onTime);
        IReadOnlyList<JobId> after = [];
        if (definition.Overlap != OverlapPolicy.Allow && runs.Count > 0 && schedule.LastJobId is { } previous
            && await store.GetAsync(previous, cancellationToken).ConfigureAwait(false) is { IsTerminal: false })
        {
            if (definition.Overlap == OverlapPolicy.Skip)
            {
                runs.Clear();
            }
            else
            {
                after = [previous];
            }
        }

        var jobs = new List<JobSnapshot>(runs.Count);
        foreach (var fireAt in runs)
        {
            var job = JobFactory.Create(descriptor, definition.Payload, options, now, fireAt, definition.JobOptions(schedule.Name, fireAt, after), traceParent: null);
            jobs.Add(job);

            // Queued runs follow one another.
            if (definition.Overlap == OverlapPolicy.Queue)
            {
                after = [job.Id];
            }
        }

        var result = await schedules.FireAsync(new ScheduleFire(schedule.Name, schedule.Version, last, next, jobs), cancellationToken).ConfigureAwait(false);
        if (result.Fired && result.Jobs.Count > 0)
        {
            foreach (var job in result.Jobs)
            {
                notifier.Submitted(job);
            }

            wakeClaims();
        }
    }
}
