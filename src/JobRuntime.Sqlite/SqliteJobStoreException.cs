namespace JobRuntime.Sqlite;

/// <summary>The SQLite store could not do what was asked: the file is not a database, is read-only, locked, full or newer than this version.</summary>
public sealed class SqliteJobStoreException : JobStoreException
{
    /// <summary>Creates the exception.</summary>
    public SqliteJobStoreException()
        : base("The SQLite job store failed.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public SqliteJobStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public SqliteJobStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
