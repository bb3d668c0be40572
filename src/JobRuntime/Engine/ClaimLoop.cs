using JobRuntime.Storage;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Where jobs are claimed: while the executor has free slots, claims that many ready jobs (within
/// each limited queue's free slots) with a lease, and hands each to the executor as a
/// <see cref="JobRun"/>. Sleeps until a slot frees, a job is submitted or a store signal arrives,
/// the next scheduled job is due, or the poll interval (jittered) passes.
/// </summary>
internal sealed class ClaimLoop(
    IJobStore store,
    IJobExecutor executor,
    RunningJobs runs,
    JobHandlerRegistry registry,
    RunParts parts,
    JobRuntimeOptions options,
    TimeProvider time,
    ILogger logger) : IDisposable
{
    private readonly AsyncSignal _wake = new();
    private readonly IReadOnlyCollection<string>? _queues = options.Queues.Count > 0 ? [.. options.Queues] : null;

    /// <summary>Claims again now (a submit, a freed slot, a job that became ready).</summary>
    public void Wake() => _wake.Set();

    public void Dispose() => _wake.Dispose();

    public async Task RunAsync(CancellationToken stopping)
    {
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            DateTimeOffset? nextDue = null;
            try
            {
                var free = executor.AvailableSlots;
                if (free > 0)
                {
                    var request = new ClaimRequest(options.WorkerName, free, options.LeaseDuration)
                    {
                        QueueLimits = executor.GetQueueAvailability(),
                        Queues = _queues,
                    };
                    var claimed = await store.ClaimAsync(request, stopping).ConfigureAwait(false);
                    foreach (var job in claimed.Jobs)
                    {
                        await StartAsync(job, stopping).ConfigureAwait(false);
                    }

                    failures = 0;
                    if (claimed.Jobs.Count == free)
                    {
                        continue;
                    }

                    nextDue = claimed.NextDueAt;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var delay = Backoff.AfterStoreFailure(++failures);
                Telemetry.Log.StoreError(logger, ex, "claim", delay);
                await Backoff.IgnoreCancellation(Task.Delay(delay, time, stopping)).ConfigureAwait(false);
                continue;
            }

            // Jittered (80–100 % of the interval) so that nodes started together do not poll in step.
            var wait = options.PollInterval * (1 - (0.2 * Random.Shared.NextDouble()));
            var now = time.GetUtcNow();
            if (nextDue is { } due && due - now < wait)
            {
                wait = due - now;
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

                if (executor.AvailableSlots < options.MaxConcurrency)
                {
                    // Woken while jobs run here (most often: one of them freed its slot, and others are
                    // about to): go to the back of the thread pool's queue first, so that one claim
                    // fills every slot freed meanwhile instead of one claim per finished job. When
                    // nothing runs, a submit is claimed at once.
                    await Task.Yield();
                }
            }
        }
    }

    /// <summary>Hands a claimed job to the executor: the one call from the engine into it; the outcome comes back through <see cref="JobRun.OnFinished"/>.</summary>
    private async ValueTask StartAsync(ClaimedJob claimed, CancellationToken token)
    {
        var job = claimed.Job;
        var run = new JobRun(claimed, registry.TryGet(job.Type, out var descriptor) ? descriptor : null, parts, job.StartedAt ?? time.GetUtcNow());
        runs.Add(run);
        bool started;
        try
        {
            started = executor.TryStart(run);
        }
        catch (ObjectDisposedException)
        {
            // The executor shut down first: the job goes back as it came.
            started = false;
        }
        catch (Exception ex)
        {
            // The executor refused it (a run of the same id still holds a slot here): that attempt fails.
            parts.Recorder.Record(run, new JobExecutionResult(JobExecutionStatus.Faulted) { Exception = ex, StartedAt = time.GetUtcNow() });
            return;
        }

        if (!started)
        {
            // Another user of the executor took the slot between the count and the claim: hand the job back.
            runs.Remove(run);
            await store.CompleteAsync(claimed.Lease, JobCompletion.Release(), token).ConfigureAwait(false);
        }
    }
}
