namespace JobRuntime;

/// <summary>No job exists with the given id.</summary>
public sealed class JobNotFoundException : KeyNotFoundException
{
    /// <summary>Creates the exception.</summary>
    public JobNotFoundException()
        : base("The job was not found.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public JobNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public JobNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a job id.</summary>
    /// <param name="jobId">The id that was not found.</param>
    public JobNotFoundException(JobId jobId)
        : base($"No job with id {jobId} exists (it may have been deleted or cleaned up).")
        => JobId = jobId;

    /// <summary>The id that was not found, when known.</summary>
    public JobId? JobId { get; }
}
