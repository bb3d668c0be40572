using JobRuntime.Storage;

namespace JobRuntime.Engine;

/// <summary>
/// The lifecycle of one attempt, as code: how the executor's outcome becomes the completion the
/// store writes — and with it the job's next status and its event — and when a failed attempt is
/// retried. The one place these are mapped (DESIGN's lifecycle).
/// </summary>
/// <remarks>
/// <code>
/// JobExecutionStatus   JobCompletion (kind)             JobStatus   JobEventKind
/// Succeeded          → Completed                      → Completed → Completed
/// Faulted            → Retry, while attempts are left  → Pending   → Retrying
///                      and the error is retryable
///                      (by the handler's retry policy)
///                    → Failed, otherwise               → Failed    → Failed
/// Cancelled          → Cancelled                      → Cancelled → Cancelled
/// TimedOut           → TimedOut (+ the thread dump)   → TimedOut  → TimedOut
/// Shutdown           → Release (attempt not used up)  → Pending   → Requeued
/// Faulted with a     → Release at now + its delay      → Pending   → Requeued
///   JobPostponedException (attempt not used up)
/// </code>
/// </remarks>
internal sealed class JobLifecycle(JobRuntimeOptions options, TimeProvider time)
{
    /// <summary>
    /// How long a failed attempt waits before its retry: by the handler's policy, or exponential from
    /// <see cref="JobRuntimeOptions.RetryBaseDelay"/>, capped, jittered (numbers from <see cref="JobRuntimeOptions.RetryRandom"/>).
    /// </summary>
    public TimeSpan RetryDelay(int attempt, JobRetryPolicy? policy = null) => policy is null
        ? Backoff.Delay(options.RetryBaseDelay, attempt, options.RetryMaxDelay, options.RetryJitter, options.RetryRandom)
        : policy.WaitAfter(attempt, options.RetryRandom);

    /// <summary>The completion to write for a run that ended with <paramref name="result"/>.</summary>
    public JobCompletion Completion(JobRun run, RunOutcome result)
    {
        var job = run.Definition;
        var progress = run.Progress;
        switch (result.Status)
        {
            case JobExecutionStatus.Succeeded:
                return JobCompletion.Completed((string)result.Value!, run.Artifacts, progress);
            case JobExecutionStatus.Cancelled:
                return JobCompletion.Ended(JobStatus.Cancelled, new JobError("Cancelled", "The job was cancelled while it ran.", result.Exception?.ToString()), run.Artifacts, progress);
            case JobExecutionStatus.TimedOut:
                var dump = run.TimeoutDump;
                var message = $"The job ran longer than its timeout of {job.Timeout}" + (result.Abandoned ? " and ignored cancellation for the grace period; it was abandoned." : ".")
                    + (dump is null ? "" : $" {dump.Summary}");
                var artifacts = dump is null ? run.Artifacts : [.. run.Artifacts, ThreadDumps.ThreadDumpJson.ToArtifact(dump)];
                return JobCompletion.Ended(JobStatus.TimedOut, new JobError("Timeout", message, dump?.ToText() ?? result.Exception?.ToString()), artifacts, progress);
            case JobExecutionStatus.Shutdown:
                return JobCompletion.Release();
            case JobExecutionStatus.Faulted when result.Exception is JobPostponedException postponed:
                // The job asked to run again later: its attempt is not used up.
                return JobCompletion.Release(time.GetUtcNow() + postponed.Delay);
            default:
                var error = JobError.FromException(result.Exception!);
                var policy = run.Descriptor?.Options.Retry;
                if (IsRetryable(result.Exception) && (policy is null || policy.Retries(result.Exception!)) && run.Attempt < job.MaxAttempts && !run.LeaseLost)
                {
                    // The submit's timing, if it gave one; which exceptions are retried is the handler's either way.
                    return JobCompletion.Retry(error, time.GetUtcNow() + RetryDelay(run.Attempt, job.Retry?.ToPolicy() ?? policy), progress);
                }

                return JobCompletion.Ended(JobStatus.Failed, error, run.Artifacts, progress);
        }
    }

    /// <summary>A payload that cannot be read, or a type no handler serves, fails the same way every time.</summary>
    private static bool IsRetryable(Exception? exception) => exception is not (JobPayloadException or UnknownJobTypeException);
}
