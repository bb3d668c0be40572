using Microsoft.Extensions.Logging;

namespace JobRuntime.Telemetry;

/// <summary>Source-generated log messages of the runtime.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Job {JobId} ({JobType}) submitted to queue {Queue}")]
    public static partial void Submitted(ILogger logger, JobId jobId, string jobType, string queue);

    [LoggerMessage(2, LogLevel.Debug, "Job {JobId} ({JobType}) attempt {Attempt} started")]
    public static partial void Started(ILogger logger, JobId jobId, string jobType, int attempt);

    [LoggerMessage(3, LogLevel.Debug, "Job {JobId} ({JobType}) completed in {DurationMs} ms")]
    public static partial void Completed(ILogger logger, JobId jobId, string jobType, double durationMs);

    [LoggerMessage(4, LogLevel.Error, "Job {JobId} ({JobType}) attempt {Attempt} of {MaxAttempts} failed")]
    public static partial void Failed(ILogger logger, Exception? exception, JobId jobId, string jobType, int attempt, int maxAttempts);

    [LoggerMessage(5, LogLevel.Warning, "Job {JobId} ({JobType}) attempt {Attempt} of {MaxAttempts} failed; retrying at {RetryAt:o}")]
    public static partial void Retrying(ILogger logger, Exception? exception, JobId jobId, string jobType, int attempt, int maxAttempts, DateTimeOffset retryAt);

    [LoggerMessage(6, LogLevel.Information, "Job {JobId} ({JobType}) cancelled")]
    public static partial void Cancelled(ILogger logger, JobId jobId, string jobType);

    [LoggerMessage(7, LogLevel.Warning, "Job {JobId} ({JobType}) ended timed out after {Timeout}{Abandoned}")]
    public static partial void TimedOut(ILogger logger, JobId jobId, string jobType, TimeSpan? timeout, string abandoned);

    [LoggerMessage(8, LogLevel.Warning, "The lease of job {JobId} was lost; its outcome was not recorded (another worker recovered it)")]
    public static partial void LeaseLost(ILogger logger, JobId jobId);

    [LoggerMessage(9, LogLevel.Error, "The job store failed during {Operation}; retrying in {Delay}")]
    public static partial void StoreError(ILogger logger, Exception exception, string operation, TimeSpan delay);

    [LoggerMessage(10, LogLevel.Warning, "Recovered {Count} job(s) whose worker stopped renewing its lease")]
    public static partial void Recovered(ILogger logger, int count);

    [LoggerMessage(11, LogLevel.Information, "Job runtime started: worker {Worker}, max concurrency {MaxConcurrency}")]
    public static partial void RuntimeStarted(ILogger logger, string worker, int maxConcurrency);

    [LoggerMessage(12, LogLevel.Information, "Job runtime stopping: {Running} job(s) running")]
    public static partial void RuntimeStopping(ILogger logger, int running);

    [LoggerMessage(13, LogLevel.Warning, "Job {JobId} went back to pending because the runtime shut down")]
    public static partial void Requeued(ILogger logger, JobId jobId);

    [LoggerMessage(14, LogLevel.Error, "The outcome of job {JobId} could not be recorded; recovery will retry or fail it when its lease expires")]
    public static partial void CompletionLost(ILogger logger, Exception exception, JobId jobId);

    [LoggerMessage(16, LogLevel.Debug, "Thread dump provider {Provider} is not available: {Reason}")]
    public static partial void ProviderUnavailable(ILogger logger, string provider, string reason);

    [LoggerMessage(19, LogLevel.Warning, "Thread dump provider {Provider} failed; the next provider is tried")]
    public static partial void ProviderFailed(ILogger logger, Exception exception, string provider);

    [LoggerMessage(17, LogLevel.Error, "Job {JobId} ({JobType}) timed out after {Timeout}. {DumpSummary}. The whole thread dump is kept with the job: IJobManager.GetThreadDumpAsync({JobId}), or the error's details")]
    public static partial void TimeoutDump(ILogger logger, JobId jobId, string jobType, TimeSpan? timeout, string dumpSummary);

    [LoggerMessage(18, LogLevel.Warning, "Job {JobId} ({JobType}) reported no progress for {Silent}; it keeps running. Thread dump:\n{Dump}")]
    public static partial void Stalled(ILogger logger, JobId jobId, string jobType, TimeSpan silent, string dump);

    [LoggerMessage(20, LogLevel.Error, "Recurring job {Schedule} could not fire; the next pass tries again")]
    public static partial void ScheduleFailed(ILogger logger, Exception exception, string schedule);

    [LoggerMessage(21, LogLevel.Error, "The final-failure hook of job {JobId} ({JobType}) threw")]
    public static partial void FinalFailureHookFailed(ILogger logger, Exception exception, JobId jobId, string jobType);

    [LoggerMessage(15, LogLevel.Warning, "Job {JobId} ({JobType}) ignored cancellation past the grace period and was abandoned; its late result will be discarded")]
    public static partial void Abandoned(ILogger logger, JobId jobId, string jobType);
}
