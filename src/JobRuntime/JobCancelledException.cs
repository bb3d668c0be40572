namespace JobRuntime;

/// <summary>Thrown when awaiting the result of a job that was cancelled.</summary>
public sealed class JobCancelledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public JobCancelledException()
        : base("The job was cancelled.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public JobCancelledException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public JobCancelledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a cancelled job.</summary>
    /// <param name="job">The job.</param>
    public JobCancelledException(JobSnapshot job)
        : base($"Job {job?.Id} ({job?.Type}) was cancelled: {job?.Error?.Message}")
        => Job = job;

    /// <summary>The job, in its final state.</summary>
    public JobSnapshot? Job { get; }

    /// <summary>Why the job was cancelled.</summary>
    public JobError? Error => Job?.Error;
}
