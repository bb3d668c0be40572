namespace JobRuntime.Storage;

/// <summary>The outcome of one attempt, written by <see cref="IJobStore.CompleteAsync"/>.</summary>
public sealed record JobCompletion
{
    private JobCompletion(JobCompletionKind kind) => Kind = kind;

    /// <summary>What happened.</summary>
    public JobCompletionKind Kind { get; }

    /// <summary>The result JSON of a completed job.</summary>
    public string? Result { get; private init; }

    /// <summary>Artifacts the attempt produced.</summary>
    public IReadOnlyList<JobArtifact> Artifacts { get; private init; } = [];

    /// <summary>The error, for every kind but <see cref="JobCompletionKind.Completed"/> and <see cref="JobCompletionKind.Release"/>.</summary>
    public JobError? Error { get; private init; }

    /// <summary>When the retry may run, for <see cref="JobCompletionKind.Retry"/>; for a <see cref="JobCompletionKind.Release"/>, the job's new run time if it was postponed (else it keeps its run time).</summary>
    public DateTimeOffset? RetryAt { get => _retryAt == NoTime ? null : new DateTimeOffset(_retryAt, TimeSpan.Zero); private init => _retryAt = value?.UtcTicks ?? NoTime; }

    // As UTC ticks (the instant read back with offset zero): a completion is made per job and kept by the
    // in-memory store until its job is read, so its size counts (a nullable DateTimeOffset is 24 bytes).
    private const long NoTime = long.MinValue;
    private readonly long _retryAt = NoTime;

    /// <summary>The final progress, if the attempt reported any.</summary>
    public JobProgress? Progress { get; private init; }

    /// <summary>The status the job has after this completion.</summary>
    public JobStatus ResultingStatus => Kind switch
    {
        JobCompletionKind.Completed => JobStatus.Completed,
        JobCompletionKind.Failed => JobStatus.Failed,
        JobCompletionKind.Cancelled => JobStatus.Cancelled,
        JobCompletionKind.TimedOut => JobStatus.TimedOut,
        _ => JobStatus.Pending,
    };

    /// <summary>A completed attempt.</summary>
    /// <param name="result">The result JSON.</param>
    /// <param name="artifacts">Artifacts, if any.</param>
    /// <param name="progress">The final progress.</param>
    /// <returns>The completion.</returns>
    public static JobCompletion Completed(string result, IReadOnlyList<JobArtifact>? artifacts = null, JobProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new(JobCompletionKind.Completed) { Result = result, Artifacts = artifacts ?? [], Progress = progress };
    }

    /// <summary>A terminal failure, cancellation or timeout.</summary>
    /// <param name="status">Failed, Cancelled or TimedOut.</param>
    /// <param name="error">Why.</param>
    /// <param name="artifacts">Artifacts, such as a thread dump.</param>
    /// <param name="progress">The final progress.</param>
    /// <returns>The completion.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="status"/> is not Failed, Cancelled or TimedOut.</exception>
    public static JobCompletion Ended(JobStatus status, JobError error, IReadOnlyList<JobArtifact>? artifacts = null, JobProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        var kind = status switch
        {
            JobStatus.Failed => JobCompletionKind.Failed,
            JobStatus.Cancelled => JobCompletionKind.Cancelled,
            JobStatus.TimedOut => JobCompletionKind.TimedOut,
            _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Only Failed, Cancelled and TimedOut end a job with an error."),
        };
        return new(kind) { Error = error, Artifacts = artifacts ?? [], Progress = progress };
    }

    /// <summary>A failed attempt that will be retried.</summary>
    /// <param name="error">The attempt's error.</param>
    /// <param name="retryAt">When the retry may run.</param>
    /// <param name="progress">The last progress.</param>
    /// <returns>The completion.</returns>
    public static JobCompletion Retry(JobError error, DateTimeOffset retryAt, JobProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new(JobCompletionKind.Retry) { Error = error, RetryAt = retryAt, Progress = progress };
    }

    /// <summary>An interrupted attempt that goes back to pending without using up an attempt.</summary>
    /// <returns>The completion.</returns>
    public static JobCompletion Release() => new(JobCompletionKind.Release);

    /// <summary>An attempt that asked to run again later (<see cref="JobPostponedException"/>): back to pending at <paramref name="runAt"/>, without using up an attempt.</summary>
    /// <param name="runAt">When the job may run again.</param>
    /// <returns>The completion.</returns>
    public static JobCompletion Release(DateTimeOffset runAt) => new(JobCompletionKind.Release) { RetryAt = runAt };
}
