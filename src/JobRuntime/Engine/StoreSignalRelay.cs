using JobRuntime.Storage;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Listens to a store's signals (<see cref="IJobStoreSignals"/>, when the store registered them) and
/// acts on each: new work wakes the claim loop, a cancellation stops the job if it runs here, a lost
/// channel renews every lease, and the progress and state of jobs running on other nodes reach this
/// node's watchers. Signals are hints: without them the engine still polls and renews leases.
/// </summary>
internal sealed class StoreSignalRelay(
    IJobStoreSignals signals,
    IJobStore store,
    IJobExecutor executor,
    IProgressBroker broker,
    RunningJobs runs,
    LeaseKeeper leases,
    LifecycleNotifier notifier,
    Action wakeClaims,
    ILogger logger)
{
    private CancellationToken _stopping;

    public async Task RunAsync(CancellationToken stopping)
    {
        _stopping = stopping;
        try
        {
            await signals.ListenAsync(OnSignal, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Telemetry.Log.StoreError(logger, ex, "listen for store signals", TimeSpan.Zero);
        }
    }

    private void OnSignal(JobStoreSignal signal)
    {
        switch (signal.Kind)
        {
            case JobStoreSignalKind.JobsAvailable:
                wakeClaims();
                break;
            case JobStoreSignalKind.Resync:
                wakeClaims();
                leases.RequestRenewAll();
                break;
            case JobStoreSignalKind.CancelRequested when signal.JobId is { } id && runs.Contains(id):
                if (executor.TryStop(id, JobStopReason.Cancelled))
                {
                    notifier.CancellationRequested(id);
                }

                break;
            case JobStoreSignalKind.Progress when signal.JobId is { } id && signal.Progress is { } progress && !runs.Contains(id) && broker.HasSubscribers(id):
                notifier.RelayProgress(id, progress);
                break;
            case JobStoreSignalKind.StatusChanged when signal.JobId is { } id && !runs.Contains(id) && broker.HasSubscribers(id):
                _ = RelayStateAsync(id);
                break;
        }
    }

    /// <summary>A watched job started or ended on another node: publish its state from the stored row.</summary>
    private async Task RelayStateAsync(JobId id)
    {
        try
        {
            if (await store.GetAsync(id, _stopping).ConfigureAwait(false) is { } job && job.Status != JobStatus.Pending)
            {
                notifier.RelayState(job);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A hint only: watchers also poll the store.
            Telemetry.Log.StoreError(logger, ex, "relay another node's job state", TimeSpan.Zero);
        }
    }
}
