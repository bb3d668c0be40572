using JobRuntime.Storage;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Recovery of expired leases and retention of finished jobs, every
/// <see cref="JobRuntimeOptions.RecoveryInterval"/>, in a loop of its own: the claim loop never
/// waits for it (a leader row locked by another session, a slow recovery). On a shared store that
/// elects a leader, only the leader does this work.
/// </summary>
internal sealed class Maintenance(
    IJobStore store,
    IJobStoreLeadership? leadership,
    JobLifecycle lifecycle,
    LifecycleNotifier notifier,
    Action wakeClaims,
    JobRuntimeOptions options,
    TimeProvider time,
    ILogger logger)
{
    private TaskCompletionSource _pass = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A leader that stops renewing (a dead node) is replaced after three missed passes.</summary>
    private TimeSpan LeadershipTtl => options.RecoveryInterval * 3;

    /// <summary>Completes after the next pass.</summary>
    public Task WaitForPassAsync() => Volatile.Read(ref _pass).Task;

    public async Task RunAsync(CancellationToken stopping)
    {
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (leadership is null || await leadership.TryLeadAsync(options.WorkerName, LeadershipTtl, stopping).ConfigureAwait(false))
                {
                    await RecoverAsync(stopping).ConfigureAwait(false);
                    if (options.RetainFinishedJobs is { } retain)
                    {
                        await store.CleanupAsync(time.GetUtcNow() - retain, stopping).ConfigureAwait(false);
                    }
                }

                failures = 0;
                Interlocked.Exchange(ref _pass, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var delay = Backoff.AfterStoreFailure(++failures);
                Telemetry.Log.StoreError(logger, ex, "recover expired leases", delay);
                await Backoff.IgnoreCancellation(Task.Delay(delay, time, stopping)).ConfigureAwait(false);
                continue;
            }

            await Backoff.IgnoreCancellation(Task.Delay(options.RecoveryInterval, time, stopping)).ConfigureAwait(false);
        }
    }

    /// <summary>Lets another node take the maintenance over at once rather than after the TTL.</summary>
    public async Task ResignAsync()
    {
        if (leadership is null)
        {
            return;
        }

        try
        {
            await leadership.ResignAsync(options.WorkerName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Telemetry.Log.StoreError(logger, ex, "resign the maintenance leadership", TimeSpan.Zero);
        }
    }

    private async Task RecoverAsync(CancellationToken token)
    {
        var result = await store.RecoverAsync(job => lifecycle.RetryDelay(job.Attempt, job.Retry?.ToPolicy()), token).ConfigureAwait(false);
        if (result.Recovered.Count == 0 && result.CancelledDependents.Count == 0)
        {
            return;
        }

        notifier.Recovered(result);

        // Recovered jobs may be ready now.
        wakeClaims();
    }
}
