namespace JobRuntime;

/// <summary>Thrown when awaiting the result of a job that timed out.</summary>
public sealed class JobTimedOutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public JobTimedOutException()
        : base("The job timed out.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public JobTimedOutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public JobTimedOutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a timed-out job.</summary>
    /// <param name="job">The job.</param>
    public JobTimedOutException(JobSnapshot job)
        : base($"Job {job?.Id} ({job?.Type}) timed out: {job?.Error?.Message}")
        => Job = job;

    /// <summary>The job, in its final state.</summary>
    public JobSnapshot? Job { get; }

    /// <summary>The timeout details (and, with a thread-dump provider, where the job was stuck).</summary>
    public JobError? Error => Job?.Error;
}
