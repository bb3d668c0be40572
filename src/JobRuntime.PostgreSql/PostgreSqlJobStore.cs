using System.Net.Sockets;
using System.Text.Json;
using JobRuntime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace JobRuntime.PostgreSql;

/// <summary>
/// An <see cref="IJobStore"/> in PostgreSQL, for several processes or machines sharing one database.
/// Claims are one statement (a materialised CTE with <c>FOR UPDATE SKIP LOCKED</c> and a limit of
/// the free slots); every write of a running job is fenced by its lease token; the schema lives in
/// its own PostgreSQL schema and is created or migrated on first use under an advisory lock, so
/// many nodes may start at once. Times are stored as UTC ticks from the runtime's clock.
/// </summary>
internal sealed partial class PostgreSqlJobStore : IJobStore, IJobStoreSignals, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly TimeProvider _time;
    private readonly string _schema;
    private readonly Lock _initializeGate = new();
    private Task? _initialized;
    private readonly PostgreSqlJobStoreOptions _options;
    private readonly ILogger _logger;
    private static readonly TimeSpan MaintenanceCheckInterval = TimeSpan.FromSeconds(2);
    private long _maintenanceCheckedAt;
    private Task? _maintenance;
    private WriteBatcher<PendingCompletion, JobWriteResult>? _completionBatcher;
    private WriteBatcher<PendingRenewal, LeaseState>? _renewalBatcher;
    private WriteBatcher<PendingInsert, InsertOutcome>? _insertBatcher;

    /// <summary>Creates a store on a connection string (<see cref="PostgreSqlJobStoreOptions.ConnectionString"/>).</summary>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The connection string is missing or invalid, or the schema name is not a plain identifier.</exception>
    /// <param name="logger">Where the store logs the faults it handles itself; optional.</param>
    public PostgreSqlJobStore(PostgreSqlJobStoreOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
        : this(CreateDataSource(options), options, timeProvider, ownsDataSource: true, logger)
    {
    }

    /// <summary>Creates a store on an existing data source (for example one registered in DI); the caller keeps owning it.</summary>
    /// <param name="dataSource">The data source.</param>
    /// <param name="options">The options (the connection string is ignored).</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">Where the store logs the faults it handles itself; optional.</param>
    public PostgreSqlJobStore(NpgsqlDataSource dataSource, PostgreSqlJobStoreOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
        : this(dataSource, options ?? new PostgreSqlJobStoreOptions(), timeProvider, ownsDataSource: false, logger)
    {
    }

    private PostgreSqlJobStore(NpgsqlDataSource dataSource, PostgreSqlJobStoreOptions options, TimeProvider? timeProvider, bool ownsDataSource, ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
        ArgumentNullException.ThrowIfNull(dataSource);
        if (options.Problems(hasDataSource: true) is { Count: > 0 } problems)
        {
            throw new ArgumentException("Invalid PostgreSQL store options: " + string.Join(" ", problems), nameof(options));
        }

        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _time = timeProvider ?? TimeProvider.System;
        _schema = options.Schema;
        _options = options;
        Channel = ("jr_" + options.Schema)[..Math.Min(60, 3 + options.Schema.Length)];
    }

    /// <summary>The PostgreSQL schema holding the tables.</summary>
    public string Schema => _schema;

    /// <summary>Creates or migrates the schema now rather than on first use.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the schema is ready.</returns>
    /// <exception cref="PostgreSqlJobStoreException">The server is unreachable, refuses the schema, or holds a newer schema version.</exception>
    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        Task initialized;
        lock (_initializeGate)
        {
            // A failed attempt (server down, permission missing) is not kept: the next call tries again.
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = InitializeCoreAsync();
            }

            initialized = _initialized;
        }

        return initialized.WaitAsync(cancellationToken);
    }

    private int _disposeStarted;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Registered under several contracts (store, signals, leadership), the store may be disposed more than once.
        if (Interlocked.Exchange(ref _disposeStarted, 1) == 1)
        {
            return;
        }

        // Finish the queued writes first: every acknowledged insert and completion is written.
        if (_insertBatcher is { } inserts)
        {
            await inserts.CompleteAsync().ConfigureAwait(false);
        }

        if (_completionBatcher is { } completions)
        {
            await completions.CompleteAsync().ConfigureAwait(false);
        }

        if (_renewalBatcher is { } renewals)
        {
            await renewals.CompleteAsync().ConfigureAwait(false);
        }

        if (Volatile.Read(ref _maintenance) is { } maintenance)
        {
            await maintenance.ConfigureAwait(false);
        }

        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Finishes the queued writes and closes the store's own connections, blocking; for containers
    /// disposed synchronously (<c>using var provider = services.BuildServiceProvider()</c>).
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>How many statements each connection keeps prepared when the connection string does not say.</summary>
    private const int DefaultMaxAutoPrepare = 32;

    private static NpgsqlDataSource CreateDataSource(PostgreSqlJobStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problems(hasDataSource: false) is { Count: > 0 } problems)
        {
            throw new ArgumentException("Invalid PostgreSQL store options: " + string.Join(" ", problems), nameof(options));
        }

        try
        {
            // The store runs a handful of statements over and over: prepared, PostgreSQL parses and
            // plans each once per connection. A connection string that sets Max Auto Prepare
            // (0 behind a pooler that cannot keep prepared statements) is left as it is.
            return NpgsqlDataSource.Create(WithStoreDefaults(options.ConnectionString!));
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The PostgreSQL connection string is invalid: {ex.Message}", nameof(options), ex);
        }
    }

    /// <summary>
    /// The connection string with <c>Max Auto Prepare</c> set to <see cref="DefaultMaxAutoPrepare"/>
    /// unless it names the setting itself. (Npgsql's builder reports every keyword it knows as
    /// present, so the check reads the keys actually written.)
    /// </summary>
    internal static string WithStoreDefaults(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var written = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var named = written.Keys.Cast<string>().Any(key => string.Equals(key.Replace(" ", string.Empty, StringComparison.Ordinal), "MaxAutoPrepare", StringComparison.OrdinalIgnoreCase));
        if (!named)
        {
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        return builder.ConnectionString;
    }

    /// <summary>The data source the store runs on (for tests).</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    private string Sql(string text) => text.Replace("{S}", $"\"{_schema}\"", StringComparison.Ordinal);

    /// <summary>Runs <paramref name="work"/> in one transaction on a pooled connection, translating database errors.</summary>
    private Task<T> InTransactionAsync<T>(string operation, Func<Tx, Task<T>> work, CancellationToken cancellationToken)
        => OnConnectionAsync(operation, work, transactional: true, cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection, in one transaction when
    /// <paramref name="transactional"/>; otherwise each statement commits by itself (for work that
    /// is one statement: no BEGIN and no COMMIT round trip).
    /// </summary>
    private async Task<T> OnConnectionAsync<T>(string operation, Func<Tx, Task<T>> work, bool transactional, CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    if (!transactional)
                    {
                        return await work(new Tx(this, connection, null, _time.GetUtcNow(), cancellationToken)).ConfigureAwait(false);
                    }

                    var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                    await using (transaction.ConfigureAwait(false))
                    {
                        var result = await work(new Tx(this, connection, transaction, _time.GetUtcNow(), cancellationToken)).ConfigureAwait(false);

                        // Not cancellable: a commit cancelled on the way may still have happened, and the
                        // caller would be told "cancelled" about work that was done.
                        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                        return result;
                    }
                }
                catch (PostgresException ex) when (!IsConnectionLoss(ex))
                {
                    ForgetPreparedStatements(connection);
                    throw;
                }
            }
        }
        catch (Exception ex) when (Translate(operation, ex) is { } translated)
        {
            if (IsConnectionLoss(ex))
            {
                // The server closed connections (restart, pg_terminate_backend): the pool's idle ones
                // are most likely dead too and would each fail their next caller. Drop them.
                _dataSource.Clear();
            }

            throw translated;
        }
    }

    /// <summary>
    /// After the server refused a statement, the connection's prepared statements are dropped before
    /// it goes back to the pool: a statement refused while being auto-prepared can leave Npgsql's
    /// bookkeeping out of step with the server (npgsql/npgsql#6391; a chaos run saw the next submit on
    /// such a connection fail with "Received unexpected backend message DataRow" although its job was
    /// stored). They are prepared again on their next use; this costs only after an error.
    /// </summary>
    private static void ForgetPreparedStatements(NpgsqlConnection connection)
    {
        try
        {
            // Npgsql has no asynchronous form; one DEALLOCATE ALL round trip, after errors only.
            connection.UnprepareAll();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // The connection is broken anyway: the pool discards it.
        }
    }

    /// <summary>
    /// Runs a read; if the connection turns out to have been closed by the server (a pooled one that
    /// died while idle fails at its first use), runs it once more on a fresh connection. Reads only:
    /// a write that failed this way may or may not have happened.
    /// </summary>
    private async Task<T> ReadAsync<T>(string operation, Func<Tx, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            return await InTransactionAsync(operation, work, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgreSqlJobStoreException ex) when (IsConnectionLoss(ex.InnerException))
        {
            return await InTransactionAsync(operation, work, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The server ended the session (admin shutdown, crash shutdown, cannot connect now) or the socket broke.</summary>
    private static bool IsConnectionLoss(Exception? ex) => ex switch
    {
        PostgresException pg => pg.SqlState is "57P01" or "57P02" or "57P03",
        NpgsqlException npgsql => npgsql.InnerException is IOException or SocketException or EndOfStreamException,
        _ => false,
    };

    private PostgreSqlJobStoreException? Translate(string operation, Exception ex)
    {
        if (ex is OperationCanceledException or ArgumentException or InvalidOperationException { InnerException: null } or JobNotFoundException or PostgreSqlJobStoreException)
        {
            return null;
        }

        return ex switch
        {
            PostgresException { SqlState: "42501" } pg => new PostgreSqlJobStoreException($"Could not {operation}: the database refused permission ({pg.MessageText}). Grant the JobRuntime role USAGE and CREATE on schema \"{_schema}\" (or create the schema for it).", ex),
            PostgresException pg => new PostgreSqlJobStoreException($"Could not {operation}: PostgreSQL error {pg.SqlState}: {pg.MessageText}", ex),
            NpgsqlException { InnerException: SocketException or TimeoutException } or NpgsqlException { IsTransient: true } => new PostgreSqlJobStoreException($"Could not {operation}: the PostgreSQL server could not be reached ({ex.Message}).", ex),
            NpgsqlException => new PostgreSqlJobStoreException($"Could not {operation}: {ex.Message}", ex),
            _ => null,
        };
    }

    private static Guid Key(JobId id) => id.Value;

    private static object Db(object? value) => value ?? DBNull.Value;

    private static long Ticks(DateTimeOffset value) => value.UtcTicks;

    private static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    private static string? ArtifactsJson(IReadOnlyList<JobArtifact> artifacts)
        => artifacts.Count == 0 ? null : JsonSerializer.Serialize(artifacts.Select(a => new StoredArtifact(a.Name, a.ContentType, a.FilePath, a.Data)).ToList(), PostgreSqlJsonContext.Default.ListStoredArtifact);

    private static IReadOnlyList<JobArtifact> ReadArtifacts(NpgsqlDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal)
            ? []
            : JsonSerializer.Deserialize(reader.GetString(ordinal), PostgreSqlJsonContext.Default.ListStoredArtifact)!
                .Select(a => new JobArtifact(a.Name, a.ContentType, a.FilePath, a.Data)).ToList();

    /// <summary>One unit of work's connection, transaction (none when each statement commits by itself) and clock reading.</summary>
    private sealed class Tx(PostgreSqlJobStore store, NpgsqlConnection connection, NpgsqlTransaction? transaction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        public DateTimeOffset Now { get; } = now;

        public long NowTicks => Now.UtcTicks;

        public CancellationToken Token { get; } = cancellationToken;

        public NpgsqlCommand Command(string sql, params (string Name, object? Value)[] parameters)
        {
            var command = new NpgsqlCommand(store.Sql(sql), connection, transaction);
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            return command;
        }

        /// <summary>Several statements sent in one round trip, run one after another (each with its own snapshot).</summary>
        public NpgsqlBatch Batch(params (string Sql, (string Name, object? Value)[] Parameters)[] statements)
        {
            var batch = new NpgsqlBatch(connection, transaction);
            foreach (var (sql, parameters) in statements)
            {
                var command = new NpgsqlBatchCommand(store.Sql(sql));
                foreach (var (name, value) in parameters)
                {
                    command.Parameters.AddWithValue(name, value ?? DBNull.Value);
                }

                batch.BatchCommands.Add(command);
            }

            return batch;
        }

        public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
        {
            await using var command = Command(sql, parameters);
            return await command.ExecuteNonQueryAsync(Token).ConfigureAwait(false);
        }

        public async Task<object?> ScalarAsync(string sql, params (string Name, object? Value)[] parameters)
        {
            await using var command = Command(sql, parameters);
            var value = await command.ExecuteScalarAsync(Token).ConfigureAwait(false);
            return value is DBNull ? null : value;
        }

        public async Task<List<JobSnapshot>> JobsAsync(string sql, params (string Name, object? Value)[] parameters)
        {
            await using var command = Command(sql, parameters);
            await using var reader = await command.ExecuteReaderAsync(Token).ConfigureAwait(false);
            return await ReadJobsAsync(reader).ConfigureAwait(false);
        }

        /// <summary>
        /// Runs a statement that picks ready jobs in queue order, planned for the table as it is now,
        /// in the same round trip as the settings that make it so (they last until the end of the
        /// transaction: the batch's own when there is no explicit one). A queue table swings between
        /// empty and full faster than its statistics follow: planned while the statistics said "no
        /// ready jobs", the pick read every ready job through the listing index and sorted them
        /// (60–240 ms per claim instead of under 1), and the prepared statement kept that generic
        /// plan after the statistics caught up (burn-downs stalled for 10–50 s). So: a custom plan
        /// every time, and no sort, which leaves the ready index, already in queue order.
        /// </summary>
        public async Task<List<JobSnapshot>> PickJobsAsync(string sql, params (string Name, object? Value)[] parameters)
        {
            await using var batch = Batch(
                ("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('enable_sort', 'off', true)", []),
                (sql, parameters));
            await using var reader = await batch.ExecuteReaderAsync(Token).ConfigureAwait(false);
            await reader.NextResultAsync(Token).ConfigureAwait(false);
            return await ReadJobsAsync(reader).ConfigureAwait(false);
        }

        private async Task<List<JobSnapshot>> ReadJobsAsync(NpgsqlDataReader reader)
        {
            var jobs = new List<JobSnapshot>();
            while (await reader.ReadAsync(Token).ConfigureAwait(false))
            {
                jobs.Add(ReadJob(reader, Now));
            }

            return jobs;
        }
    }

    /// <summary>An artifact as stored in the artifacts JSON column (blob data as base64).</summary>
    internal sealed record StoredArtifact(string Name, string ContentType, string? FilePath, byte[]? Data);
}
