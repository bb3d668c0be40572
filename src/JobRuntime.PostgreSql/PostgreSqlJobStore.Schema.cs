using Npgsql;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore
{
    /// <summary>The newest schema version this build understands.</summary>
    public const int SchemaVersion = 9;

    private const string Columns =
        "id, type, queue, priority, payload, status, progress_current, progress_total, progress_message, progress_stage, " +
        "result, error_type, error_message, error_stack, artifacts, attempt, max_attempts, created_at, scheduled_at, started_at, " +
        "completed_at, title, tags, depends_on, on_parent_failure, idempotency_key, timeout_ticks, cancel_requested, owner, " +
        "trace_parent, rerun_of, pending_parents, attempt_errors::text, cached_from, batch_id, retry";

    // Migration n brings a schema from version n - 1 to n. Append only; never edit a shipped one.
    // Lease columns are kept out of every index so that renewals are HOT updates.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE {S}.jobs (
            id uuid NOT NULL PRIMARY KEY,
            type text NOT NULL,
            queue text NOT NULL,
            priority integer NOT NULL,
            payload text NOT NULL,
            status smallint NOT NULL,
            progress_current bigint NOT NULL DEFAULT 0,
            progress_total bigint NOT NULL DEFAULT 0,
            progress_message text,
            progress_stage text,
            result text,
            error_type text,
            error_message text,
            error_stack text,
            artifacts text,
            attempt integer NOT NULL,
            max_attempts integer NOT NULL,
            created_at bigint NOT NULL,
            scheduled_at bigint NOT NULL,
            started_at bigint,
            completed_at bigint,
            title text,
            tags text[],
            depends_on uuid[],
            on_parent_failure smallint NOT NULL,
            idempotency_key text,
            timeout_ticks bigint,
            cancel_requested boolean NOT NULL DEFAULT false,
            owner text,
            lease_token uuid,
            lease_expires bigint,
            trace_parent text,
            rerun_of uuid,
            pending_parents integer NOT NULL DEFAULT 0
        ) WITH (fillfactor = 80);
        CREATE TABLE {S}.deps (
            parent uuid NOT NULL,
            child uuid NOT NULL,
            PRIMARY KEY (parent, child)
        );
        CREATE INDEX jobs_ready ON {S}.jobs (priority DESC, scheduled_at, id) WHERE status = 0 AND pending_parents = 0;
        CREATE INDEX jobs_due ON {S}.jobs (scheduled_at) WHERE status = 0 AND pending_parents = 0;
        CREATE INDEX jobs_running ON {S}.jobs (id) WHERE status = 1;
        CREATE UNIQUE INDEX jobs_idempotency ON {S}.jobs (idempotency_key) WHERE idempotency_key IS NOT NULL AND status IN (0, 1);
        CREATE INDEX jobs_list ON {S}.jobs (status, type, created_at);
        CREATE INDEX jobs_completed ON {S}.jobs (completed_at) WHERE completed_at IS NOT NULL;
        """,
        """
        CREATE UNLOGGED TABLE {S}.leader (
            name text NOT NULL PRIMARY KEY,
            owner text NOT NULL,
            expires bigint NOT NULL
        );
        """,

        // 3: fewer index entries per job (every status change is a non-HOT update that inserts into
        // each index whose predicate the new row meets). The index of not-yet-due jobs holds only
        // jobs delayed past their creation (a job due at once is found by jobs_ready); the listing
        // index leaves out running jobs (jobs_running covers them).
        """
        DROP INDEX {S}.jobs_due;
        CREATE INDEX jobs_delayed ON {S}.jobs (scheduled_at) WHERE status = 0 AND pending_parents = 0 AND scheduled_at > created_at;
        DROP INDEX {S}.jobs_list;
        CREATE INDEX jobs_list ON {S}.jobs (status, type, created_at) WHERE status <> 1;
        """,

        // 4: ready jobs by queue, for claims limited to some queues (per-queue limits, a node
        // serving a few queues): read from jobs_ready, a page of jobs of a queue at its limit hid
        // every other queue's jobs behind it.
        """
        CREATE INDEX jobs_ready_queue ON {S}.jobs (queue, priority DESC, scheduled_at, id) WHERE status = 0 AND pending_parents = 0;
        """,

        // 5: recurring schedules. The definition is the runtime's JSON; the store keeps the state and
        // records each occurrence with its jobs in one transaction, guarded by the version (the row
        // is locked FOR UPDATE, so of the nodes firing an occurrence at once one records it).
        """
        CREATE TABLE {S}.schedules (
            name text NOT NULL PRIMARY KEY,
            definition text NOT NULL,
            paused boolean NOT NULL DEFAULT false,
            next_fire_at bigint,
            last_fire_at bigint,
            last_job_id uuid,
            version bigint NOT NULL
        );
        CREATE INDEX schedules_due ON {S}.schedules (next_fire_at) WHERE NOT paused AND next_fire_at IS NOT NULL;
        """,

        // 6: every failed attempt's error (JobAttemptHistory's JSON), not only the last.
        "ALTER TABLE {S}.jobs ADD COLUMN attempt_errors jsonb;",

        // 7: result caching: the job a result was reused from, and the lookup of recent results by key.
        """
        ALTER TABLE {S}.jobs ADD COLUMN cached_from uuid;
        CREATE INDEX jobs_cache ON {S}.jobs (idempotency_key, completed_at) WHERE status = 2 AND idempotency_key IS NOT NULL AND cached_from IS NULL;
        """,

        // 8: batches: the batch a job belongs to (its head's id), and its members by batch.
        """
        ALTER TABLE {S}.jobs ADD COLUMN batch_id uuid;
        CREATE INDEX jobs_batch ON {S}.jobs (batch_id, status) WHERE batch_id IS NOT NULL;
        """,

        // 9: a job's own retry timing, given at submit (JobRetryTiming's text).
        "ALTER TABLE {S}.jobs ADD COLUMN retry text;",
    ];

    private async Task InitializeCoreAsync()
    {
        try
        {
            var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                // A schema already at this version needs nothing created: read its version first, so
                // that a role with data rights only (a deployment that migrates with another role)
                // can start. CREATE SCHEMA IF NOT EXISTS is checked against CREATE on the database
                // even when the schema exists.
                var existing = await ReadSchemaVersionAsync(connection).ConfigureAwait(false);
                if (existing == SchemaVersion)
                {
                    return;
                }

                ThrowIfNewer(existing);
                var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    // One node at a time creates or migrates the schema; the others wait, then find it current.
                    await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext(@key))", ("key", "jobruntime:" + _schema)).ConfigureAwait(false);
                    await using (var exists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @s)", connection, transaction))
                    {
                        exists.Parameters.AddWithValue("s", _schema);
                        if (!(bool)(await exists.ExecuteScalarAsync().ConfigureAwait(false))!)
                        {
                            await ExecuteAsync(connection, transaction, Sql("CREATE SCHEMA IF NOT EXISTS {S}")).ConfigureAwait(false);
                        }
                    }

                    await ExecuteAsync(connection, transaction, Sql("CREATE TABLE IF NOT EXISTS {S}.migrations (version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")).ConfigureAwait(false);
                    await using var read = new NpgsqlCommand(Sql("SELECT COALESCE(MAX(version), 0) FROM {S}.migrations"), connection, transaction);
                    var current = Convert.ToInt32(await read.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
                    ThrowIfNewer(current);

                    for (var version = current + 1; version <= SchemaVersion; version++)
                    {
                        await ExecuteAsync(connection, transaction, Sql(Migrations[version - 1])).ConfigureAwait(false);
                        await ExecuteAsync(connection, transaction, Sql("INSERT INTO {S}.migrations (version) VALUES (@v)"), ("v", version)).ConfigureAwait(false);
                    }

                    await transaction.CommitAsync().ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (Translate($"create or migrate the JobRuntime schema \"{_schema}\"", ex) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The schema's recorded version, or 0 when it has no migrations table yet (a read only: no lock, no CREATE).</summary>
    private async Task<int> ReadSchemaVersionAsync(NpgsqlConnection connection)
    {
        await using (var table = new NpgsqlCommand("SELECT to_regclass(@t) IS NOT NULL", connection))
        {
            table.Parameters.AddWithValue("t", $"\"{_schema}\".migrations");
            if (!(bool)(await table.ExecuteScalarAsync().ConfigureAwait(false))!)
            {
                return 0;
            }
        }

        await using var read = new NpgsqlCommand(Sql("SELECT COALESCE(MAX(version), 0) FROM {S}.migrations"), connection);
        return Convert.ToInt32(await read.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    private void ThrowIfNewer(int version)
    {
        if (version > SchemaVersion)
        {
            throw new PostgreSqlJobStoreException(
                $"The schema \"{_schema}\" has JobRuntime schema version {version}, written by a newer JobRuntime.PostgreSql; this version understands up to {SchemaVersion}. Upgrade the package or use another schema.");
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>Reads a row selected with <see cref="Columns"/>.</summary>
    private static JobSnapshot ReadJob(NpgsqlDataReader r, DateTimeOffset now)
    {
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        var errorType = Text(11);
        var job = new JobSnapshot
        {
            Id = new JobId(r.GetGuid(0)),
            Type = r.GetString(1),
            Queue = r.GetString(2),
            Priority = r.GetInt32(3),
            Payload = r.GetString(4),
            Status = (JobStatus)r.GetInt16(5),
            Progress = new JobProgress(r.GetInt64(6), r.GetInt64(7), Text(8), Text(9)),
            Result = Text(10),
            Error = errorType is null ? null : new JobError(errorType, Text(12) ?? "", Text(13)),
            Artifacts = ReadArtifacts(r, 14),
            Attempt = r.GetInt32(15),
            MaxAttempts = r.GetInt32(16),
            CreatedAt = Time(r.GetInt64(17)),
            ScheduledAt = Time(r.GetInt64(18)),
            StartedAt = r.IsDBNull(19) ? null : Time(r.GetInt64(19)),
            CompletedAt = r.IsDBNull(20) ? null : Time(r.GetInt64(20)),
            Title = Text(21),
            Tags = r.IsDBNull(22) ? [] : r.GetFieldValue<string[]>(22),
            DependsOn = r.IsDBNull(23) ? [] : r.GetFieldValue<Guid[]>(23).Select(g => new JobId(g)).ToArray(),
            OnParentFailure = (DependencyFailureBehavior)r.GetInt16(24),
            IdempotencyKey = Text(25),
            Timeout = r.IsDBNull(26) ? null : TimeSpan.FromTicks(r.GetInt64(26)),
            CancellationRequested = r.GetBoolean(27),
            Owner = Text(28),
            TraceParent = Text(29),
            RerunOf = r.IsDBNull(30) ? null : new JobId(r.GetGuid(30)),
            AttemptErrors = Storage.JobAttemptHistory.Parse(Text(32)),
            CachedFrom = r.IsDBNull(33) ? null : new JobId(r.GetGuid(33)),
            BatchId = r.IsDBNull(34) ? null : new JobId(r.GetGuid(34)),
            Retry = JobRetryTiming.Parse(Text(35)),
        };
        return job with { WaitReason = Storage.JobWaitReasons.Of(job, waitingForParents: r.GetInt32(31) > 0, now) };
    }
}
