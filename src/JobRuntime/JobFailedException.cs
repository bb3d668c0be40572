namespace JobRuntime;

/// <summary>Thrown when awaiting the result of a job that failed.</summary>
public sealed class JobFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JobFailedException()
        : base("The job failed.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public JobFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public JobFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a failed job.</summary>
    /// <param name="job">The job.</param>
    public JobFailedException(JobSnapshot job)
        : base($"Job {job?.Id} ({job?.Type}) failed after {job?.Attempt} attempt(s): {job?.Error}")
        => Job = job;

    /// <summary>The job, in its final state.</summary>
    public JobSnapshot? Job { get; }

    /// <summary>The job's error: exception type, message and stack trace.</summary>
    public JobError? Error => Job?.Error;
}
