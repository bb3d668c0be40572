namespace JobRuntime;

/// <summary>How a work item ended.</summary>
public enum JobExecutionStatus
{
    /// <summary>It returned a value.</summary>
    Succeeded = 0,

    /// <summary>It threw.</summary>
    Faulted = 1,

    /// <summary>It stopped after a user cancellation.</summary>
    Cancelled = 2,

    /// <summary>It ran past its timeout.</summary>
    TimedOut = 3,

    /// <summary>It stopped because the runtime shut down.</summary>
    Shutdown = 4,
}
