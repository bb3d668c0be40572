namespace JobRuntime;

/// <summary>Why a <see cref="JobStatus.Pending"/> job is not running yet.</summary>
public enum JobWaitReason
{
    /// <summary>The job is not pending, or it is ready and waits only for a free slot.</summary>
    None = 0,

    /// <summary>The job waits for the run time it was submitted with.</summary>
    Scheduled = 1,

    /// <summary>An earlier attempt failed and the job waits out its retry back-off.</summary>
    RetryBackoff = 2,

    /// <summary>The job waits for parent jobs to finish.</summary>
    Dependencies = 3,
}
