namespace JobRuntime.PostgreSql;

/// <summary>Options of the PostgreSQL store (<c>UsePostgreSql</c>); validated when the host starts, every error at once.</summary>
public sealed class PostgreSqlJobStoreOptions
{
    /// <summary>
    /// The Npgsql connection string, used when no <c>NpgsqlDataSource</c> is given. Unless it sets
    /// <c>Max Auto Prepare</c>, the store sets it to 32 so that its statements are parsed and planned
    /// once per connection; set <c>Max Auto Prepare=0</c> behind a pooler that cannot keep prepared statements.
    /// </summary>
    /// <value>Default: <see langword="null"/>; required unless an <c>NpgsqlDataSource</c> is registered in DI.</value>
    public string? ConnectionString { get; set; }

    /// <summary>The PostgreSQL schema holding JobRuntime's tables: 1–63 lower-case letters, digits or underscores.</summary>
    /// <value>Default: <c>jobruntime</c>.</value>
    public string Schema { get; set; } = "jobruntime";

    /// <summary>
    /// Whether nodes tell each other about new jobs and cancellations with NOTIFY and a listening
    /// connection. Turn off behind a connection pooler in transaction mode (PgBouncer), where LISTEN
    /// does not work: the runtime then polls and learns of cancellations at lease renewal.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Notifications { get; set; } = true;

    /// <summary>
    /// Whether persisted progress and job starts and ends are also notified, so that a watcher on
    /// another node sees them at once rather than at its next poll. Costs one NOTIFY per state
    /// change (progress is already throttled). Needs <see cref="Notifications"/>.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool LiveEvents { get; set; } = true;

    /// <summary>At most one "jobs available" notification per queue per this interval from one node; not negative.</summary>
    /// <value>Default: 100 milliseconds.</value>
    public TimeSpan NotifyDebounce { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the listening connection is checked when quiet, to notice a dead connection; positive.</summary>
    /// <value>Default: 15 seconds.</value>
    public TimeSpan ListenKeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Whether a node vacuums the jobs table in the background when more than an eighth of it (at
    /// least 5,000 rows) are dead row versions. A queue table churns faster than
    /// autovacuum's defaults keep up with (it looks once a minute and waits for a fifth of the table
    /// to die), and every claim's scan of the ready index walks past the entries of all jobs claimed
    /// since the last vacuum. The VACUUM skips the table if another session is vacuuming it. Only a
    /// role that owns the table (or a superuser) maintains it; for other roles the store leaves it
    /// to autovacuum. Turn off when autovacuum is tuned for the table.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool VacuumJobsTable { get; set; } = true;

    /// <summary>What is wrong with these options, every problem at once (empty when they are fine).</summary>
    /// <param name="hasDataSource">Whether an <c>NpgsqlDataSource</c> is given (the connection string is then not needed).</param>
    internal List<string> Problems(bool hasDataSource)
    {
        var problems = new List<string>();
        if (!hasDataSource && string.IsNullOrWhiteSpace(ConnectionString))
        {
            problems.Add($"{nameof(ConnectionString)} must be set when no NpgsqlDataSource is registered.");
        }
        else if (!hasDataSource)
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
            }
            catch (ArgumentException ex)
            {
                problems.Add($"{nameof(ConnectionString)} is not a valid Npgsql connection string: {ex.Message}");
            }
        }

        if (string.IsNullOrEmpty(Schema) || Schema.Length > 63
            || !(char.IsAsciiLetterLower(Schema[0]) || Schema[0] == '_')
            || !Schema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            problems.Add($"{nameof(Schema)} '{Schema}' must be 1–63 lower-case letters, digits or underscores, starting with a letter or underscore.");
        }

        if (NotifyDebounce < TimeSpan.Zero)
        {
            problems.Add($"{nameof(NotifyDebounce)} must not be negative (was {NotifyDebounce}).");
        }

        if (ListenKeepAlive <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(ListenKeepAlive)} must be positive (was {ListenKeepAlive}).");
        }

        return problems;
    }
}
