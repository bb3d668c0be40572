namespace JobRuntime;

/// <summary>Where a batch stands as a whole.</summary>
public enum JobBatchState
{
    /// <summary>No member has started yet.</summary>
    Pending = 0,

    /// <summary>Some members have started or finished; others have not finished.</summary>
    Running = 1,

    /// <summary>Every member completed.</summary>
    Succeeded = 2,

    /// <summary>Every member finished, and at least one failed, was cancelled or timed out (<see cref="JobBatchStatus.FailedJobs"/>).</summary>
    Failed = 3,

    /// <summary>The batch was cancelled (<see cref="IJobManager.CancelBatchAsync"/>).</summary>
    Cancelled = 4,
}

/// <summary>
/// A batch's status at a point in time: its members counted by status, its aggregate progress and its
/// head (the continuation, or the built-in job that ends the batch).
/// </summary>
public sealed record JobBatchStatus
{
    /// <summary>The batch's id (its head job's id).</summary>
    public required JobId BatchId { get; init; }

    /// <summary>The head job's title.</summary>
    public string? Title { get; init; }

    /// <summary>The state of the batch as a whole.</summary>
    public required JobBatchState State { get; init; }

    /// <summary>How many members the batch has.</summary>
    public required long Total { get; init; }

    /// <summary>Members not started yet.</summary>
    public long Pending { get; init; }

    /// <summary>Members running.</summary>
    public long Running { get; init; }

    /// <summary>Members that completed.</summary>
    public long Completed { get; init; }

    /// <summary>Members that failed.</summary>
    public long Failed { get; init; }

    /// <summary>Members that were cancelled.</summary>
    public long Cancelled { get; init; }

    /// <summary>Members that timed out.</summary>
    public long TimedOut { get; init; }

    /// <summary>Members in a terminal state (a member the store no longer keeps counts as finished).</summary>
    public long Finished => Total - Pending - Running;

    /// <summary>
    /// The aggregate progress, 0 to 1: every finished member counts 1, every unfinished one its own
    /// progress fraction (as last stored), over <see cref="Total"/>.
    /// </summary>
    public double Progress { get; init; }

    /// <summary>Up to 100 members that failed, were cancelled or timed out, newest first.</summary>
    public IReadOnlyList<JobId> FailedJobs { get; init; } = [];

    /// <summary>The head job's status: pending until every member has finished, then it runs (the continuation) and ends.</summary>
    public required JobStatus HeadStatus { get; init; }

    /// <summary>The continuation's job type, or <see langword="null"/> when the batch has none (its head is <see cref="JobBatch.HeadType"/>).</summary>
    public string? ContinuationType { get; init; }

    /// <summary>When the batch was submitted.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Whether the batch is over: every member finished and the head (the continuation) ended, or it was cancelled.</summary>
    public bool IsFinished => HeadStatus.IsTerminal() && Pending == 0 && Running == 0;
}
