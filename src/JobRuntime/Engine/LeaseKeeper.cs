using JobRuntime.Storage;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Keeps the leases of this process's runs: renews each every third of the lease duration, writes
/// their progress with the renewal (throttled: by interval, by percentage step, at once on a new
/// stage), stops a run whose cancellation was requested or whose lease was lost, and reports runs
/// that stalled. One loop for all runs.
/// </summary>
internal sealed class LeaseKeeper(
    IJobStore store,
    IJobExecutor executor,
    RunningJobs runs,
    HangReporter hangs,
    LifecycleNotifier notifier,
    JobRuntimeOptions options,
    TimeProvider time,
    ILogger logger) : IDisposable
{
    private readonly AsyncSignal _flush = new();
    private int _renewAllRequested;

    /// <summary>Wakes the loop to write progress that crossed a step or a new stage now.</summary>
    public void RequestFlush() => _flush.Set();

    /// <summary>
    /// Renews every lease at the next pass: after a store signal channel was lost, the answers carry
    /// any cancellation requested while no one listened.
    /// </summary>
    public void RequestRenewAll()
    {
        Interlocked.Exchange(ref _renewAllRequested, 1);
        RequestFlush();
    }

    /// <summary>Runs until <paramref name="stopping"/> trips and no run is left (a run's outcome may still be being written).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var renewEvery = options.LeaseDuration / 3;
        var tick = renewEvery < options.ProgressPersistInterval ? renewEvery : options.ProgressPersistInterval;
        if (options.StallTimeout is { } stall && stall / 2 < tick)
        {
            tick = stall / 2;
        }

        while (!stopping.IsCancellationRequested || !runs.IsEmpty)
        {
            var renewAll = Interlocked.Exchange(ref _renewAllRequested, 0) == 1;
            foreach (var run in runs.All)
            {
                await KeepAsync(run, renewEvery, renewAll, tick).ConfigureAwait(false);
            }

            if (stopping.IsCancellationRequested && runs.IsEmpty)
            {
                break;
            }

            await _flush.WaitAsync(tick, time, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public void Dispose() => _flush.Dispose();

    private async ValueTask KeepAsync(JobRun run, TimeSpan renewEvery, bool renewAll, TimeSpan tick)
    {
        // A run that ended but whose outcome is still being written keeps its lease renewed: its
        // slot is already free, and a store slower than the lease (a backlog of outcomes) must not
        // let recovery fail a job that finished. Its progress is final and goes with the outcome.
        var ended = run.Ended;
        var now = time.GetUtcNow();
        if (!ended && options.StallTimeout is { } stallAfter && !run.StallReported && now - run.LastActivity >= stallAfter)
        {
            run.StallReported = true;
            _ = hangs.ReportStallAsync(run, now - run.LastActivity);
        }

        var progress = ended ? null : run.TakeProgressToPersist(now, options.ProgressPersistInterval, options.ProgressPersistPercentStep);
        if (progress is null && !renewAll && now - run.LastRenewal < renewEvery)
        {
            return;
        }

        try
        {
            var state = await store.RenewAsync(run.Lease, now + options.LeaseDuration, progress, CancellationToken.None).ConfigureAwait(false);
            run.LastRenewal = now;
            if (state == LeaseState.CancellationRequested && !ended)
            {
                executor.TryStop(run.JobId, JobStopReason.Cancelled);
            }
            else if (state == LeaseState.Lost && !run.Ended)
            {
                run.LeaseLost = true;
                notifier.LeaseLost(run.JobId);
                executor.TryStop(run.JobId, JobStopReason.Cancelled);
            }
        }
        catch (Exception ex)
        {
            Telemetry.Log.StoreError(logger, ex, "renew", tick);
        }
    }
}
