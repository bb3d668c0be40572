namespace JobRuntime.PostgreSql;

/// <summary>Options of <see cref="PostgreSqlJobStore"/>.</summary>
public sealed class PostgreSqlJobStoreOptions
{
    /// <summary>
    /// The Npgsql connection string, used when no <c>NpgsqlDataSource</c> is given. Unless it sets
    /// <c>Max Auto Prepare</c>, the store sets it to 32 so that its statements are parsed and planned
    /// once per connection; set <c>Max Auto Prepare=0</c> behind a pooler that cannot keep prepared statements.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The PostgreSQL schema holding JobRuntime's tables. Default "jobruntime".</summary>
    public string Schema { get; set; } = "jobruntime";

    /// <summary>
    /// Whether nodes tell each other about new jobs and cancellations with NOTIFY and a listening
    /// connection. Default true. Turn off behind a connection pooler in transaction mode (PgBouncer),
    /// where LISTEN does not work: the runtime then polls and learns of cancellations at lease renewal.
    /// </summary>
    public bool Notifications { get; set; } = true;

    /// <summary>
    /// Whether persisted progress and job starts and ends are also notified, so that a watcher on
    /// another node sees them at once rather than at its next poll. Costs one NOTIFY per state
    /// change (progress is already throttled). Default true; needs <see cref="Notifications"/>.
    /// </summary>
    public bool LiveEvents { get; set; } = true;

    /// <summary>At most one "jobs available" notification per queue per this interval from one node. Default 100 ms.</summary>
    public TimeSpan NotifyDebounce { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the listening connection is checked when quiet, to notice a dead connection. Default 15 s.</summary>
    public TimeSpan ListenKeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Whether a node vacuums the jobs table in the background when more than an eighth of it (at
    /// least 5,000 rows) are dead row versions. Default true. A queue table churns faster than
    /// autovacuum's defaults keep up with (it looks once a minute and waits for a fifth of the table
    /// to die), and every claim's scan of the ready index walks past the entries of all jobs claimed
    /// since the last vacuum. The VACUUM skips the table if another session is vacuuming it. Only a
    /// role that owns the table (or a superuser) maintains it; for other roles the store leaves it
    /// to autovacuum. Turn off when autovacuum is tuned for the table.
    /// </summary>
    public bool VacuumJobsTable { get; set; } = true;

    /// <summary>Validates the options.</summary>
    /// <exception cref="ArgumentException">The schema name is not a plain identifier.</exception>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Schema) || Schema.Length > 63
            || !(char.IsAsciiLetterLower(Schema[0]) || Schema[0] == '_')
            || !Schema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            throw new ArgumentException($"The schema name '{Schema}' must be 1–63 lower-case letters, digits or underscores, starting with a letter or underscore.", nameof(Schema));
        }

        if (NotifyDebounce < TimeSpan.Zero || ListenKeepAlive <= TimeSpan.Zero)
        {
            throw new ArgumentException("NotifyDebounce must not be negative and ListenKeepAlive must be positive.", nameof(ListenKeepAlive));
        }
    }
}
