namespace JobRuntime;

/// <summary>
/// A job store could not do what was asked: its database cannot be opened or reached, is read-only,
/// full or written by a newer version, and so on. Each store's exception derives from it (SQLite's,
/// PostgreSQL's), so a host can catch store failures without naming the store.
/// </summary>
public class JobStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JobStoreException()
        : base("The job store failed.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public JobStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public JobStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
