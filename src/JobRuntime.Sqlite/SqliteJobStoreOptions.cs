namespace JobRuntime.Sqlite;

/// <summary>Options of the SQLite store (<c>UseSqlite</c>); validated when the host starts, every error at once.</summary>
public sealed class SqliteJobStoreOptions
{
    /// <summary>The Microsoft.Data.Sqlite connection string, for example <c>Data Source=jobs.db</c>.</summary>
    /// <value>Default: <c>Data Source=jobs.db</c>.</value>
    public string ConnectionString { get; set; } = "Data Source=jobs.db";

    /// <summary>What a committed write survives; see <see cref="SqliteSynchronousMode"/>.</summary>
    /// <value>Default: <see cref="SqliteSynchronousMode.Normal"/> (survives a process kill).</value>
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Normal;

    /// <summary>How long a write waits for another process's lock before failing.</summary>
    /// <value>Default: 10 seconds.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most writes committed in one transaction.</summary>
    /// <value>Default: 1024.</value>
    public int MaxBatchSize { get; set; } = 1024;

    /// <summary>
    /// How often the runtime checks whether another process sharing the file committed, and then
    /// whether a job running here was asked to stop; <see cref="TimeSpan.Zero"/> turns the check off
    /// (cancellations from other processes then arrive with the job's next lease renewal).
    /// </summary>
    /// <value>Default: 250 milliseconds.</value>
    public TimeSpan SignalPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}
