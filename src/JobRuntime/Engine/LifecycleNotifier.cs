using System.Diagnostics;
using JobRuntime.Telemetry;
using JobRuntime.ThreadDumps;
using JobRuntime.Storage;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Turns each transition of a job into everything it emits: its event (to the broker's
/// subscribers), its log line, its metrics and its trace. One method per transition; nothing else
/// in the engine publishes, logs a job's transition or counts one. An event is made only when the
/// broker has someone to give it to (<see cref="IProgressBroker.HasSubscribers"/>): a job nobody
/// watches costs no events. Each is published after the transition was stored, so a subscriber
/// that joins later finds the transition in the store (the manager's watches read it first).
/// </summary>
internal sealed class LifecycleNotifier(IProgressBroker broker, JobRuntimeMetrics metrics, ILogger logger, TimeProvider time, FinalFailureHooks? finalFailures = null)
{
    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>A job was stored by a submit (<see cref="JobStatus.Pending"/>; already cancelled because a parent had failed; or completed from a cached result).</summary>
    public void Submitted(JobSnapshot job)
    {
        Log.Submitted(logger, job.Id, job.Type, job.Queue);
        metrics.Submitted(job.Type);
        if (job.IsTerminal)
        {
            if (job.Status == JobStatus.Cancelled)
            {
                metrics.CancelledWhilePending(1);
            }

            if (broker.HasSubscribers(job.Id))
            {
                broker.Publish(new JobEvent(job.Id, JobEvent.KindFor(job.Status), job.Status, Now) { JobType = job.Type, Error = job.Error });
            }
        }
        else
        {
            if (broker.HasSubscribers(job.Id))
            {
                broker.Publish(new JobEvent(job.Id, JobEventKind.Submitted, JobStatus.Pending, Now) { JobType = job.Type });
            }
        }
    }

    /// <summary>A pending job was cancelled before it ran, and with it the dependents that required it.</summary>
    public void CancelledBeforeRun(JobId id, IReadOnlyList<JobId> dependents)
    {
        metrics.CancelledWhilePending(1);
        if (broker.HasSubscribers(id))
        {
            broker.Publish(new JobEvent(id, JobEventKind.Cancelled, JobStatus.Cancelled, Now) { Error = JobStoreErrors.CancelledBeforeRun });
        }
        DependentsCancelled(dependents);
    }

    /// <summary>A running job (here or on another node) was asked to stop.</summary>
    public void CancellationRequested(JobId id)
    {
        if (broker.HasSubscribers(id))
        {
            broker.Publish(new JobEvent(id, JobEventKind.CancellationRequested, JobStatus.Running, Now));
        }
    }

    /// <summary>An attempt started running here: its trace activity begins (current while the handler runs).</summary>
    public void Started(JobRun run)
    {
        // The submit-time fields and the attempt: no running snapshot is made for what a start reports.
        var job = run.Definition;
        if (metrics.StartedListened)
        {
            metrics.Started(job.Type, Now - (job.ScheduledAt > job.CreatedAt ? job.ScheduledAt : job.CreatedAt));
        }

        Log.Started(logger, job.Id, job.Type, run.Attempt);
        run.Activity = StartActivity(job, run.Attempt);
        if (broker.HasSubscribers(job.Id))
        {
            broker.Publish(new JobEvent(job.Id, JobEventKind.Started, JobStatus.Running, Now) { JobType = job.Type, Attempt = run.Attempt, Progress = job.Progress });
        }
    }

    public void Progress(JobRun run, JobProgress progress)
    {
        if (broker.HasSubscribers(run.JobId))
        {
            broker.Publish(new JobEvent(run.JobId, JobEventKind.Progress, JobStatus.Running, Now) { JobType = run.Name, Attempt = run.Attempt, Progress = progress });
        }
    }

    public void StageChanged(JobRun run, JobProgress progress, string stage)
    {
        if (broker.HasSubscribers(run.JobId))
        {
            broker.Publish(new JobEvent(run.JobId, JobEventKind.StageChanged, JobStatus.Running, Now) { JobType = run.Name, Attempt = run.Attempt, Progress = progress, Name = stage });
        }
    }

    public void Custom(JobRun run, string name, object? data)
    {
        if (broker.HasSubscribers(run.JobId))
        {
            broker.Publish(new JobEvent(run.JobId, JobEventKind.Custom, JobStatus.Running, Now) { JobType = run.Name, Attempt = run.Attempt, Name = name, Data = data });
        }
    }

    /// <summary>At a job's deadline, before its token trips: a summary line (not the whole dump, 7–10 KB, which the job keeps) and a warning.</summary>
    public void TimeoutCaptured(JobRun run, ThreadDump dump)
    {
        var job = run.Job;
        Log.TimeoutDump(logger, job.Id, job.Type, job.Timeout, dump.Summary);
        Warn(run, "timeout", new JobError("Timeout", dump.Summary), dump);
    }

    /// <summary>A running job reported nothing for the stall timeout; it keeps running.</summary>
    public void Stalled(JobRun run, TimeSpan silent, ThreadDump dump)
    {
        Log.Stalled(logger, run.JobId, run.Name, silent, dump.ToText());
        Warn(run, "stall", new JobError("Stall", $"No progress for {silent}. {dump.Summary}"), dump);
    }

    /// <summary>A run's outcome was written: a retry, a hand-back (shutdown) or the job's end.</summary>
    public void Recorded(JobRun run, JobCompletion completion, RunOutcome result)
    {
        switch (completion.Kind)
        {
            case JobCompletionKind.Retry:
                Retrying(run, completion, result.Exception);
                break;
            case JobCompletionKind.Release:
                Requeued(run);
                break;
            default:
                Ended(run, completion.ResultingStatus, completion.Error, completion.Progress, result);
                break;
        }
    }

    /// <summary>A run's success was written with nothing but its result (no completion object: see <see cref="JobRun.LeftOnlyResult"/>).</summary>
    public void Completed(JobRun run, RunOutcome result) => Ended(run, JobStatus.Completed, null, run.Progress, result);

    /// <summary>A run ignored cancellation past the grace period; its slot was freed and its late result will be discarded.</summary>
    public void Abandoned(JobRun run)
    {
        Log.Abandoned(logger, run.JobId, run.Name);
        metrics.Abandoned(run.Name);
    }

    /// <summary>Another worker took the job over (its lease expired): this run's outcome was not written.</summary>
    public void LeaseLost(JobId id) => Log.LeaseLost(logger, id);

    /// <summary>A run's outcome could not be written; the lease's expiry hands the job to recovery.</summary>
    public void OutcomeLost(JobId id, Exception exception) => Log.CompletionLost(logger, exception, id);

    /// <summary>Pending dependents cancelled because a parent they required did not complete.</summary>
    public void DependentsCancelled(IReadOnlyList<JobId> ids)
    {
        if (ids.Count == 0)
        {
            return;
        }

        metrics.CancelledWhilePending(ids.Count);
        foreach (var id in ids)
        {
            if (broker.HasSubscribers(id))
            {
                broker.Publish(new JobEvent(id, JobEventKind.Cancelled, JobStatus.Cancelled, Now) { Error = new JobError("DependencyFailed", "A parent job did not complete.") });
            }
        }
    }

    /// <summary>Jobs whose worker stopped renewing its lease, retried or ended by recovery.</summary>
    public void Recovered(RecoveryResult result)
    {
        Log.Recovered(logger, result.Recovered.Count);
        foreach (var job in result.Recovered)
        {
            if (job.IsTerminal)
            {
                metrics.Ended(job.Type, job.Status, TimeSpan.Zero);
                if (broker.HasSubscribers(job.Id))
                {
                    broker.Publish(new JobEvent(job.Id, JobEvent.KindFor(job.Status), job.Status, Now) { JobType = job.Type, Attempt = job.Attempt, Error = job.Error });
                }

                finalFailures?.Failed(null, job);
            }
            else
            {
                metrics.Requeued(job.Type, retry: true);
                if (broker.HasSubscribers(job.Id))
                {
                    broker.Publish(new JobEvent(job.Id, JobEventKind.Retrying, job.Status, Now) { JobType = job.Type, Attempt = job.Attempt, Error = job.Error });
                }
            }
        }

        DependentsCancelled(result.CancelledDependents);
    }

    /// <summary>Progress of a job running on another node, for this node's watchers.</summary>
    public void RelayProgress(JobId id, JobProgress progress)
    {
        if (broker.HasSubscribers(id))
        {
            broker.Publish(new JobEvent(id, JobEventKind.Progress, JobStatus.Running, Now) { Progress = progress });
        }
    }

    /// <summary>A watched job started or ended on another node, read from its stored row.</summary>
    public void RelayState(JobSnapshot job)
    {
        var kind = job.IsTerminal ? JobEvent.KindFor(job.Status) : JobEventKind.Started;
        if (broker.HasSubscribers(job.Id))
        {
            broker.Publish(new JobEvent(job.Id, kind, job.Status, Now) { JobType = job.Type, Attempt = job.Attempt, Progress = job.Progress, Error = job.Error });
        }
    }

    private void Retrying(JobRun run, JobCompletion completion, Exception? exception)
    {
        var job = run.Job;
        Log.Retrying(logger, exception, job.Id, job.Type, job.Attempt, job.MaxAttempts, completion.RetryAt!.Value);
        metrics.Requeued(job.Type, retry: true);
        run.Activity?.SetStatus(ActivityStatusCode.Error, completion.Error?.Message);
        if (broker.HasSubscribers(job.Id))
        {
            broker.Publish(new JobEvent(job.Id, JobEventKind.Retrying, JobStatus.Pending, Now) { JobType = job.Type, Attempt = job.Attempt, Error = completion.Error });
        }
    }

    private void Requeued(JobRun run)
    {
        var job = run.Job;
        Log.Requeued(logger, job.Id);
        metrics.Requeued(job.Type, retry: false);
        if (broker.HasSubscribers(job.Id))
        {
            broker.Publish(new JobEvent(job.Id, JobEventKind.Requeued, JobStatus.Pending, Now) { JobType = job.Type, Attempt = job.Attempt });
        }
    }

    private void Ended(JobRun run, JobStatus status, JobError? error, JobProgress? progress, RunOutcome result)
    {
        var job = run.Definition;
        var activity = run.Activity;
        switch (status)
        {
            case JobStatus.Completed:
                Log.Completed(logger, job.Id, job.Type, result.Duration.TotalMilliseconds);
                activity?.SetStatus(ActivityStatusCode.Ok);
                break;
            case JobStatus.Failed:
                Log.Failed(logger, result.Exception, job.Id, job.Type, run.Attempt, job.MaxAttempts);
                activity?.SetStatus(ActivityStatusCode.Error, error?.Message);
                break;
            case JobStatus.Cancelled:
                Log.Cancelled(logger, job.Id, job.Type);
                break;
            default:
                Log.TimedOut(logger, job.Id, job.Type, job.Timeout, result.Abandoned ? " (abandoned)" : "");
                activity?.SetStatus(ActivityStatusCode.Error, "timed out");
                break;
        }

        metrics.Ended(job.Type, status, result.Duration);
        activity?.SetTag("jobruntime.job.status", status.ToString());
        if (broker.HasSubscribers(job.Id))
        {
            broker.Publish(new JobEvent(job.Id, JobEvent.KindFor(status), status, Now)
            {
                JobType = job.Type,
                Attempt = run.Attempt,
                Progress = progress,
                Error = error,
            });
        }

        if (finalFailures is not null && status is JobStatus.Failed or JobStatus.TimedOut)
        {
            var running = run.Job;
            finalFailures.Failed(run.Descriptor, running with { Status = status, Error = error, CompletedAt = Now, Progress = progress ?? running.Progress, Owner = null });
        }
    }

    private void Warn(JobRun run, string name, JobError error, object data)
    {
        if (broker.HasSubscribers(run.JobId))
        {
            broker.Publish(new JobEvent(run.JobId, JobEventKind.Warning, JobStatus.Running, Now) { JobType = run.Name, Attempt = run.Attempt, Name = name, Error = error, Data = data });
        }
    }

    private static Activity? StartActivity(JobSnapshot job, int attempt)
    {
        if (!JobRuntimeMetrics.ActivitySource.HasListeners())
        {
            return null;
        }

        ActivityLink[]? links = null;
        if (job.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, out var submitter))
        {
            links = [new ActivityLink(submitter)];
        }

        // A root of its own, linked to the submitter's: nothing current on the executor's thread is its parent.
        Activity.Current = null;
        var activity = JobRuntimeMetrics.ActivitySource.StartActivity($"run {job.Type}", ActivityKind.Consumer, parentContext: default, links: links);
        activity?.SetTag("jobruntime.job.id", job.Id.ToString());
        activity?.SetTag("jobruntime.job.type", job.Type);
        activity?.SetTag("jobruntime.job.queue", job.Queue);
        activity?.SetTag("jobruntime.job.attempt", attempt);
        return activity;
    }
}
