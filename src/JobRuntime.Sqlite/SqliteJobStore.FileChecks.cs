
namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore
{
    /// <summary>The database file's identity (device and inode) when the writer opened it; <see langword="null"/> where it cannot be read.</summary>
    private FileIdentity? _fileIdentity;

    /// <summary>The database file's full path as the writer opened it (a later change of the working directory does not move it).</summary>
    private string? _filePath;

    /// <summary>The writer's buffer for <c>struct stat</c> (one thread uses it: the writer's).</summary>
    private readonly byte[] _statBuffer = new byte[FileIdentity.StatSize];

    /// <summary>The first fault that ends all writing (the file went away, a newer version took it over): every later write gets it.</summary>
    private SqliteJobStoreException? _stopped;

    /// <summary>The schema cookie (<c>PRAGMA schema_version</c>) at which this store last found its schema version current.</summary>
    private long _checkedSchemaCookie = -1;

    /// <summary>
    /// Checks, inside the writer's transaction (no other process can change the file meanwhile),
    /// that the file is still the one the store opened and still at a schema version this build
    /// understands. A deleted or replaced file would swallow every acknowledged write with the
    /// unlinked inode; a file migrated by a newer version must not be written by an older one.
    /// Both stop the store's writes for good, loudly. Costs one stat and one header read per batch (the identity check runs where the C library's stat is available: Linux with glibc 2.33 or later).
    /// </summary>
    private void CheckFile(WriteContext context)
    {
        if (_stopped is not null)
        {
            throw _stopped;
        }

        if (_fileIdentity is { } opened && FileIdentity.Of(_filePath!, _statBuffer) != opened)
        {
            throw Stop($"The database file '{DataSource}' was deleted, renamed or replaced while the store had it open; nothing more is written (it would be lost with the old file). Put the file back or restart the application.");
        }

        // Prepared once on the writer's connection, like every other statement of the writer.
        var current = context.Command("PRAGMA schema_version").ScalarInt64() ?? 0;
        if (current == _checkedSchemaCookie)
        {
            return;
        }

        var recorded = context.Command("SELECT COALESCE(MAX(version), 0) FROM jr_migrations").ScalarInt64() ?? 0;
        if (recorded > SchemaVersion)
        {
            throw Stop($"The database '{DataSource}' was moved to JobRuntime schema version {recorded} by a newer JobRuntime.Sqlite while this store (which understands up to {SchemaVersion}) was writing to it; nothing more is written. Upgrade this application.");
        }

        _checkedSchemaCookie = current;
    }

    private SqliteJobStoreException Stop(string message) => _stopped = new SqliteJobStoreException(message);
}
