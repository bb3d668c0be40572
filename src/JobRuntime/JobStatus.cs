namespace JobRuntime;

/// <summary>The lifecycle state of a job.</summary>
public enum JobStatus
{
    /// <summary>Not started yet. See <see cref="JobSnapshot.WaitReason"/> for whether it is ready.</summary>
    Pending = 0,

    /// <summary>Claimed by a worker and running.</summary>
    Running = 1,

    /// <summary>Finished successfully; its result is stored. Terminal.</summary>
    Completed = 2,

    /// <summary>Finished with an error on its last attempt. Terminal.</summary>
    Failed = 3,

    /// <summary>Cancelled before or while it ran. Terminal.</summary>
    Cancelled = 4,

    /// <summary>Ran past its timeout. Terminal.</summary>
    TimedOut = 5,
}
