namespace JobRuntime.ThreadDumps;

/// <summary>A thread-dump provider cannot capture in this process (diagnostics disabled, no permission, not supported).</summary>
public sealed class ThreadDumpUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ThreadDumpUnavailableException()
        : base("The thread dump provider is not available here.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public ThreadDumpUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ThreadDumpUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
