namespace JobRuntime;

/// <summary>What a <see cref="JobEvent"/> reports.</summary>
public enum JobEventKind
{
    /// <summary>The job's state when a subscription began (sent first to a late subscriber).</summary>
    State = 0,

    /// <summary>The job was submitted.</summary>
    Submitted = 1,

    /// <summary>An attempt started.</summary>
    Started = 2,

    /// <summary>The job reported progress. Droppable: a slow subscriber keeps the newest.</summary>
    Progress = 3,

    /// <summary>The job entered a new stage.</summary>
    StageChanged = 4,

    /// <summary>The job published a custom event. Droppable like progress.</summary>
    Custom = 5,

    /// <summary>An attempt failed and the job will be retried.</summary>
    Retrying = 6,

    /// <summary>A running job was asked to cancel.</summary>
    CancellationRequested = 7,

    /// <summary>The job completed. Terminal.</summary>
    Completed = 8,

    /// <summary>The job failed. Terminal.</summary>
    Failed = 9,

    /// <summary>The job was cancelled. Terminal.</summary>
    Cancelled = 10,

    /// <summary>The job timed out. Terminal.</summary>
    TimedOut = 11,

    /// <summary>A running job went back to pending because its worker stopped (shutdown or lost lease).</summary>
    Requeued = 12,

    /// <summary>A warning about a running job, such as a stall (no progress for a while).</summary>
    Warning = 13,
}
