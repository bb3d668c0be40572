using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore
{
    /// <summary>The newest schema version this build understands.</summary>
    public const int SchemaVersion = 8;

    // Migration n brings a database from version n - 1 to n. Append only; never edit a shipped one.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE jr_jobs (
            id BLOB NOT NULL PRIMARY KEY,
            type TEXT NOT NULL,
            queue TEXT NOT NULL,
            priority INTEGER NOT NULL,
            payload TEXT NOT NULL,
            status INTEGER NOT NULL,
            progress_current INTEGER NOT NULL DEFAULT 0,
            progress_total INTEGER NOT NULL DEFAULT 0,
            progress_message TEXT,
            progress_stage TEXT,
            result TEXT,
            error_type TEXT,
            error_message TEXT,
            error_stack TEXT,
            artifacts TEXT,
            attempt INTEGER NOT NULL,
            max_attempts INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            scheduled_at INTEGER NOT NULL,
            started_at INTEGER,
            completed_at INTEGER,
            title TEXT,
            tags TEXT,
            depends_on TEXT,
            on_parent_failure INTEGER NOT NULL,
            idempotency_key TEXT,
            timeout_ticks INTEGER,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            owner TEXT,
            lease_token BLOB,
            lease_expires INTEGER,
            trace_parent TEXT,
            rerun_of BLOB,
            pending_parents INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE TABLE jr_deps (
            parent BLOB NOT NULL,
            child BLOB NOT NULL,
            PRIMARY KEY (parent, child)
        ) WITHOUT ROWID;
        CREATE INDEX jr_jobs_ready ON jr_jobs (priority DESC, scheduled_at, id) WHERE status = 0 AND pending_parents = 0;
        CREATE INDEX jr_jobs_due ON jr_jobs (scheduled_at) WHERE status = 0 AND pending_parents = 0;
        CREATE INDEX jr_jobs_leases ON jr_jobs (lease_expires) WHERE status = 1;
        CREATE UNIQUE INDEX jr_jobs_idempotency ON jr_jobs (idempotency_key) WHERE idempotency_key IS NOT NULL AND status IN (0, 1);
        CREATE INDEX jr_jobs_list ON jr_jobs (status, type, created_at);
        CREATE INDEX jr_jobs_completed ON jr_jobs (completed_at) WHERE completed_at IS NOT NULL;
        """,

        // 2: fewer index writes per job. The index of not-yet-due jobs holds only jobs delayed past
        // their creation (retries, run-at): a job due at once is found by jr_jobs_ready. The listing
        // index leaves out running jobs (jr_jobs_leases covers them), so a claim and a completion
        // each move one entry less.
        """
        DROP INDEX jr_jobs_due;
        CREATE INDEX jr_jobs_delayed ON jr_jobs (scheduled_at) WHERE status = 0 AND pending_parents = 0 AND scheduled_at > created_at;
        DROP INDEX jr_jobs_list;
        CREATE INDEX jr_jobs_list ON jr_jobs (status, type, created_at) WHERE status <> 1;
        """,

        // 3: ready jobs by queue, so that a claim limited to some queues (per-queue limits, a worker
        // serving a few queues) reads only jobs it may take: through jr_jobs_ready it read past every
        // ready job of a queue at its limit, under the write lock.
        """
        CREATE INDEX jr_jobs_ready_queue ON jr_jobs (queue, priority DESC, scheduled_at, id) WHERE status = 0 AND pending_parents = 0;
        """,

        // 4: recurring schedules. The definition is the runtime's JSON; the store keeps the state
        // and records each occurrence with its jobs in one transaction, guarded by the version.
        """
        CREATE TABLE jr_schedules (
            name TEXT NOT NULL PRIMARY KEY,
            definition TEXT NOT NULL,
            paused INTEGER NOT NULL DEFAULT 0,
            next_fire_at INTEGER NULL,
            last_fire_at INTEGER NULL,
            last_job_id BLOB NULL,
            version INTEGER NOT NULL
        );
        CREATE INDEX jr_schedules_due ON jr_schedules (next_fire_at) WHERE paused = 0 AND next_fire_at IS NOT NULL;
        """,

        // 5: every failed attempt's error (JobAttemptHistory's JSON), not only the last.
        "ALTER TABLE jr_jobs ADD COLUMN attempt_errors TEXT NULL;",

        // 6: result caching: the job a result was reused from, and the lookup of recent results by key.
        """
        ALTER TABLE jr_jobs ADD COLUMN cached_from BLOB NULL;
        CREATE INDEX jr_jobs_cache ON jr_jobs (idempotency_key, completed_at) WHERE status = 2 AND idempotency_key IS NOT NULL AND cached_from IS NULL;
        """,

        // 7: batches: the batch a job belongs to (its head's id), and its members by batch.
        """
        ALTER TABLE jr_jobs ADD COLUMN batch_id BLOB NULL;
        CREATE INDEX jr_jobs_batch ON jr_jobs (batch_id, status) WHERE batch_id IS NOT NULL;
        """,

        // 8: a job's own retry timing, given at submit (JobRetryTiming's text).
        "ALTER TABLE jr_jobs ADD COLUMN retry TEXT NULL;",
    ];

    private async Task InitializeAsync()
    {
        CreateDirectory();
        try
        {
            var connection = new SqliteConnection(_connectionString);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync().ConfigureAwait(false);

                // auto_vacuum only takes effect on an empty database; it lets cleanup give space back.
                Execute(connection, null, "PRAGMA auto_vacuum = INCREMENTAL");
                Execute(connection, null, "PRAGMA journal_mode = WAL");
                Execute(connection, null, $"PRAGMA busy_timeout = {(int)_options.BusyTimeout.TotalMilliseconds}");
                using var transaction = connection.BeginTransaction(deferred: false);
                Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS jr_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)");
                var current = RecordedVersion(connection, transaction);
                if (current > SchemaVersion)
                {
                    throw new SqliteJobStoreException(
                        $"The database '{DataSource}' has JobRuntime schema version {current}, written by a newer JobRuntime.Sqlite; this version understands up to {SchemaVersion}. Upgrade the package or use another file.");
                }

                for (var version = current + 1; version <= SchemaVersion; version++)
                {
                    Execute(connection, transaction, Migrations[version - 1]);
                    using var record = connection.CreateCommand();
                    record.Transaction = transaction;
                    record.CommandText = "INSERT INTO jr_migrations (version, applied_at) VALUES ($v, $t)";
                    record.Parameters.AddWithValue("$v", version);
                    record.Parameters.AddWithValue("$t", _time.GetUtcNow().UtcTicks);
                    record.ExecuteNonQuery();
                }

                transaction.Commit();
            }
        }
        catch (SqliteException ex)
        {
            // A read-only file (or medium) at this version: it can still be read and listed; every
            // write fails with the store's "read-only" error at the call.
            if (ex.SqliteErrorCode is 8 or 14 && await ReadOnlyConnectionStringAsync().ConfigureAwait(false) is { } readOnly)
            {
                Volatile.Write(ref _readConnectionString, readOnly);
                return;
            }

            throw Translate("open the database", ex);
        }
    }

    /// <summary>
    /// Creates the folder of a database file that does not exist yet (<c>Data Source=data/jobs.db</c>
    /// in a fresh deployment): SQLite creates the file, not its folder.
    /// </summary>
    private void CreateDirectory()
    {
        if (string.IsNullOrEmpty(DataSource) || DataSource == ":memory:" || DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(DataSource));
        if (directory is null || Directory.Exists(directory))
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SqliteJobStoreException($"JobRuntime.Sqlite could not open the database '{DataSource}': its folder '{directory}' does not exist and could not be created ({ex.Message}).", ex);
        }
    }

    /// <summary>
    /// A connection string that reads a file which cannot be written (SQLITE_READONLY, or
    /// SQLITE_CANTOPEN on a read-only medium) when it holds this schema version, else <see langword="null"/>.
    /// Opened read-only first; on a read-only medium a WAL database cannot get its shared-memory
    /// file, so it is then opened as immutable (nothing can change it there).
    /// </summary>
    private async Task<string?> ReadOnlyConnectionStringAsync()
    {
        var readOnly = new SqliteConnectionStringBuilder(_connectionString) { Mode = SqliteOpenMode.ReadOnly };
        var immutable = new SqliteConnectionStringBuilder(readOnly.ToString()) { DataSource = "file:" + Path.GetFullPath(DataSource) + "?immutable=1" };
        foreach (var candidate in (string[])[readOnly.ToString(), immutable.ToString()])
        {
            try
            {
                var connection = new SqliteConnection(candidate);
                await using (connection.ConfigureAwait(false))
                {
                    await connection.OpenAsync().ConfigureAwait(false);
                    if (RecordedVersion(connection, null) == SchemaVersion)
                    {
                        return candidate;
                    }
                }
            }
            catch (SqliteException)
            {
                // Not readable this way: try the next, then give the original error.
            }
        }

        return null;
    }

    /// <summary>The newest schema version recorded in the file (0 for none); throws when it has no migrations table.</summary>
    private static int RecordedVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM jr_migrations";
        return Convert.ToInt32(read.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
