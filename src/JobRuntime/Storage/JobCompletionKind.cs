namespace JobRuntime.Storage;

/// <summary>The kinds of <see cref="JobCompletion"/>.</summary>
public enum JobCompletionKind
{
    /// <summary>The job completed with a result.</summary>
    Completed = 0,

    /// <summary>The job failed for good.</summary>
    Failed = 1,

    /// <summary>The job was cancelled.</summary>
    Cancelled = 2,

    /// <summary>The job timed out.</summary>
    TimedOut = 3,

    /// <summary>The attempt failed and the job waits for another one.</summary>
    Retry = 4,

    /// <summary>The attempt was interrupted (shutdown) and the job goes back to pending without using up an attempt.</summary>
    Release = 5,
}
