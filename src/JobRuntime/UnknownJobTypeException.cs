namespace JobRuntime;

/// <summary>A job was submitted with a type that no handler is registered for.</summary>
public sealed class UnknownJobTypeException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public UnknownJobTypeException()
        : base("The job type is not registered.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public UnknownJobTypeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UnknownJobTypeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal UnknownJobTypeException(string jobType, IEnumerable<string> registered)
        : base($"No handler is registered for job type '{jobType}'. Registered types: {(registered.Any() ? string.Join(", ", registered.Order(StringComparer.Ordinal)) : "none")}. Register one with AddJobRuntime().AddHandler<THandler>(\"{jobType}\").")
        => JobType = jobType;

    /// <summary>The unknown type, when known.</summary>
    public string? JobType { get; }
}
