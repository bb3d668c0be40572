namespace JobRuntime;

/// <summary>A job's arguments do not fit its handler or do not serialize (at submit), or its stored payload does not deserialize (at run time).</summary>
public sealed class JobPayloadException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public JobPayloadException()
        : base("The job payload is not valid.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public JobPayloadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public JobPayloadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
