namespace JobRuntime;

/// <summary>Something that happened to a job, as delivered to subscribers.</summary>
public sealed record JobEvent
{
    private static long s_sequence;

    /// <summary>Creates an event stamped with the next sequence number.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="kind">What happened.</param>
    /// <param name="status">The job's status after the event.</param>
    /// <param name="timestamp">When it happened.</param>
    public JobEvent(JobId jobId, JobEventKind kind, JobStatus status, DateTimeOffset timestamp)
    {
        JobId = jobId;
        Kind = kind;
        Status = status;
        Timestamp = timestamp;
        Sequence = Interlocked.Increment(ref s_sequence);
    }

    /// <summary>The job.</summary>
    public JobId JobId { get; }

    /// <summary>What happened.</summary>
    public JobEventKind Kind { get; }

    /// <summary>The job's status after the event.</summary>
    public JobStatus Status { get; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>A process-wide increasing number giving the order events were published in.</summary>
    public long Sequence { get; }

    /// <summary>The job type, when known.</summary>
    public string? JobType { get; init; }

    /// <summary>The attempt the event belongs to.</summary>
    public int Attempt { get; init; }

    /// <summary>The progress (for <see cref="JobEventKind.Progress"/>, stage changes and state events).</summary>
    public JobProgress? Progress { get; init; }

    /// <summary>The error of a failed, cancelled, timed-out or retrying job, or a warning's details.</summary>
    public JobError? Error { get; init; }

    /// <summary>The name of a custom event.</summary>
    public string? Name { get; init; }

    /// <summary>The data of a custom event.</summary>
    public object? Data { get; init; }

    /// <summary>Whether this event ends the job's stream (the job reached a terminal state).</summary>
    public bool IsTerminal => Kind is JobEventKind.Completed or JobEventKind.Failed or JobEventKind.Cancelled or JobEventKind.TimedOut
        || (Kind == JobEventKind.State && Status.IsTerminal());

    /// <summary>Whether a slow subscriber may drop this event in favour of newer ones.</summary>
    public bool IsDroppable => Kind is JobEventKind.Progress or JobEventKind.Custom;

    /// <summary>The lifecycle event that reports a job's terminal status.</summary>
    /// <param name="status">A terminal status.</param>
    /// <returns>The event kind.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The status is not terminal.</exception>
    public static JobEventKind KindFor(JobStatus status) => status switch
    {
        JobStatus.Completed => JobEventKind.Completed,
        JobStatus.Failed => JobEventKind.Failed,
        JobStatus.Cancelled => JobEventKind.Cancelled,
        JobStatus.TimedOut => JobEventKind.TimedOut,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Not a terminal status."),
    };

    /// <summary>
    /// An event describing a stored job: for a finished job, the kind it ended with (<see cref="JobEventKind.Completed"/>,
    /// <see cref="JobEventKind.Failed"/>, …), as a watcher would have received it; otherwise <see cref="JobEventKind.State"/>.
    /// </summary>
    /// <param name="job">The job.</param>
    /// <param name="timestamp">The time of the event.</param>
    /// <returns>The event.</returns>
    public static JobEvent FromSnapshot(JobSnapshot job, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new JobEvent(job.Id, job.IsTerminal ? KindFor(job.Status) : JobEventKind.State, job.Status, timestamp)
        {
            JobType = job.Type,
            Attempt = job.Attempt,
            Progress = job.Progress,
            Error = job.Error,
        };
    }

    /// <inheritdoc />
    public override string ToString() => $"{JobId} {Kind} {Status}{(Progress is { } p ? $" {p.Current}/{p.Total}" : "")}";
}
