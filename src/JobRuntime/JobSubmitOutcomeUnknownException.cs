namespace JobRuntime;

/// <summary>
/// A submit lost its connection to the store while the job was being written, and whether the job
/// was stored cannot be told. Every other exception from a submit means the job was not stored;
/// this one means "maybe": look the job up by <see cref="JobId"/> (<c>IJobManager.GetAsync</c>)
/// before submitting it again, or submit with an idempotency key so that a second submit is harmless.
/// </summary>
public sealed class JobSubmitOutcomeUnknownException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JobSubmitOutcomeUnknownException()
        : base("Whether the job was stored is unknown.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public JobSubmitOutcomeUnknownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public JobSubmitOutcomeUnknownException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a job whose write may or may not have happened.</summary>
    /// <param name="jobId">The job's id.</param>
    /// <param name="innerException">The connection failure.</param>
    public JobSubmitOutcomeUnknownException(JobId jobId, Exception innerException)
        : base($"The connection to the store was lost while job {jobId} was being stored; whether it was stored is unknown. Look it up by its id before submitting it again.", innerException)
        => JobId = jobId;

    /// <summary>The id of the job that may have been stored, when known.</summary>
    public JobId? JobId { get; }
}
