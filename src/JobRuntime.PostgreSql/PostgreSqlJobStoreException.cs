namespace JobRuntime.PostgreSql;

/// <summary>The PostgreSQL store could not do what was asked: the server is unreachable, the schema is newer or cannot be created, and so on.</summary>
public sealed class PostgreSqlJobStoreException : JobStoreException
{
    /// <summary>Creates an exception.</summary>
    public PostgreSqlJobStoreException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PostgreSqlJobStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public PostgreSqlJobStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
