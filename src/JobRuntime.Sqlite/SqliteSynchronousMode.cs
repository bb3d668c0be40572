namespace JobRuntime.Sqlite;

/// <summary>
/// SQLite's <c>synchronous</c> setting in WAL mode: what a committed write survives.
/// </summary>
public enum SqliteSynchronousMode
{
    /// <summary>
    /// A commit survives the process being killed (the WAL is written before the call returns) but
    /// the last commits may be lost on a power loss or OS crash. The default, and much faster.
    /// </summary>
    Normal = 1,

    /// <summary>A commit is fsynced before the call returns: it survives a power loss too.</summary>
    Full = 2,
}
