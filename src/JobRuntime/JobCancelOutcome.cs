namespace JobRuntime;

/// <summary>What a cancel did.</summary>
public enum JobCancelOutcome
{
    /// <summary>There is no job with that id.</summary>
    NotFound = 0,

    /// <summary>The job was pending and is now cancelled; it will never run.</summary>
    Cancelled = 1,

    /// <summary>The job is running; its token is tripped and it ends cancelled when the handler stops.</summary>
    Requested = 2,

    /// <summary>The job had already finished; nothing changed.</summary>
    AlreadyFinished = 3,
}
