using JobRuntime.Storage;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Writes each run's outcome: maps it to a completion (<see cref="JobLifecycle"/>), writes it
/// fenced by the run's lease, retries store errors with back-off, then has the transition
/// announced (<see cref="LifecycleNotifier"/>) and the run leave the engine.
/// </summary>
internal sealed class OutcomeRecorder(
    IJobStore store,
    JobLifecycle lifecycle,
    LifecycleNotifier notifier,
    RunningJobs runs,
    Action wakeClaims,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Tries per outcome before it is given up on (the lease's expiry then hands the job to recovery).</summary>
    private const int MaxWrites = 5;

    private Exception? _lastError;

    // A run claimed in memory completes with its claim number: no lease object, no lookup by lease.
    private readonly InMemoryJobStore? _memory = store as InMemoryJobStore;

    /// <summary>
    /// A run's work ended (or was abandoned). Called once per run on the thread that finished the
    /// work, right after its slot was freed; a store that answers at once (in memory) costs no
    /// further thread hop or task.
    /// </summary>
    public void Record(JobRun run, RunOutcome result)
    {
        if (run.TimeoutDumpPending is { IsCompleted: false } dump)
        {
            // The job stopped at its snapshot, before the dump was processed: its record waits for the dump.
            run.Ended = true;
            _ = dump.ContinueWith(
                static (_, state) =>
                {
                    var (recorder, waiting, outcome) = ((OutcomeRecorder, JobRun, RunOutcome))state!;
                    recorder.Record(waiting, outcome);
                },
                (this, run, result),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
            return;
        }

        var settled = true;
        try
        {
            run.Ended = true;
            if (result.Abandoned)
            {
                notifier.Abandoned(run);
            }

            // A run claimed from the in-memory store: written to the store's record, fenced by its claim number.
            var record = _memory is null ? null : run.LocalEntry;
            if (record is not null && result.Status == JobExecutionStatus.Succeeded && run.LeftOnlyResult)
            {
                // Most jobs: a success with nothing to keep but its result, which the store keeps as it is.
                Written(run, null, result, _memory!.Succeeded(record, run.LocalClaim, (string)result.Value!));
                return;
            }

            var completion = lifecycle.Completion(run, result);
            ValueTask<JobWriteResult> write;
            try
            {
                write = record is not null
                    ? new(_memory!.Complete(record, run.LocalClaim, completion))
                    : store.CompleteAsync(run.Lease, completion, CancellationToken.None);
            }
            catch (Exception ex)
            {
                write = ValueTask.FromException<JobWriteResult>(ex);
            }

            if (write.IsCompletedSuccessfully)
            {
                Written(run, completion, result, write.Result);
            }
            else
            {
                settled = false;
                _ = FinishWriteAsync(run, completion, result, write);
            }
        }
        catch (Exception ex)
        {
            notifier.OutcomeLost(run.JobId, ex);
        }
        finally
        {
            if (settled)
            {
                Leave(run);
            }
        }
    }

    private async Task FinishWriteAsync(JobRun run, JobCompletion completion, RunOutcome result, ValueTask<JobWriteResult> write)
    {
        try
        {
            Written(run, completion, result, await WriteAsync(run, completion, write).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            notifier.OutcomeLost(run.JobId, ex);
        }
        finally
        {
            Leave(run);
        }
    }

    /// <summary>The first write is under way; store errors are retried with back-off, a bounded number of times.</summary>
    /// <returns>The store's answer, or <see langword="null"/> when the write never landed.</returns>
    private async ValueTask<JobWriteResult?> WriteAsync(JobRun run, JobCompletion completion, ValueTask<JobWriteResult> first)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return attempt == 1
                    ? await first.ConfigureAwait(false)
                    : await store.CompleteAsync(run.Lease, completion, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < MaxWrites)
            {
                var delay = Backoff.AfterStoreFailure(attempt);

                // A batching store fails every write of a batch with one exception: log it once.
                if (!ReferenceEquals(Interlocked.Exchange(ref _lastError, ex), ex))
                {
                    Telemetry.Log.StoreError(logger, ex, "complete", delay);
                }

                await Task.Delay(delay, time).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                notifier.OutcomeLost(run.JobId, ex);
                return null;
            }
        }
    }

    /// <summary>The write ended (<paramref name="write"/> is <see langword="null"/> when it never landed).</summary>
    /// <param name="run">The run.</param>
    /// <param name="completion">What was written; <see langword="null"/> for a success written as its result alone.</param>
    /// <param name="result">The run's outcome.</param>
    /// <param name="write">The store's answer; <see langword="null"/> when the write never landed.</param>
    private void Written(JobRun run, JobCompletion? completion, RunOutcome result, JobWriteResult? write)
    {
        if (write?.Accepted == true)
        {
            if (completion is null)
            {
                notifier.Completed(run, result);
            }
            else
            {
                notifier.Recorded(run, completion, result);
            }

            notifier.DependentsCancelled(write.CancelledDependents);
        }
        else if (write is not null)
        {
            notifier.LeaseLost(run.JobId);
        }
    }

    /// <summary>The run is over, its outcome written or given up on: it leaves the renewals and the shutdown count; dependents may be ready.</summary>
    private void Leave(JobRun run)
    {
        runs.Remove(run);
        run.Activity?.Dispose();
        wakeClaims();
    }
}
