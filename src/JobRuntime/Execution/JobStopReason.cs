namespace JobRuntime;

/// <summary>Why a running item was asked to stop.</summary>
public enum JobStopReason
{
    /// <summary>Not asked to stop.</summary>
    None = 0,

    /// <summary>A user cancelled it.</summary>
    Cancelled = 1,

    /// <summary>It ran past its timeout.</summary>
    TimedOut = 2,

    /// <summary>The runtime is shutting down.</summary>
    Shutdown = 3,
}
