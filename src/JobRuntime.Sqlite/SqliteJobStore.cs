using System.Threading.Channels;
using JobRuntime.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobRuntime.Sqlite;

/// <summary>
/// An <see cref="IJobStore"/> in one SQLite file. Writes from all callers go through one writer
/// that commits them in batches (group commit): each caller's task completes once the transaction
/// holding its write has committed, never before. Reads use their own pooled connections (WAL
/// lets them run beside the writer). Several processes may share the file; claims and writes take
/// the database's write lock (<c>BEGIN IMMEDIATE</c>), and leases fence every write of a running job.
/// </summary>
internal sealed partial class SqliteJobStore : IJobStore, IAsyncDisposable, IDisposable
{
    /// <summary>Commits between two requests for a background checkpoint.</summary>
    private const int CommitsPerCheckpoint = 8;

    /// <summary>
    /// The write-ahead log's size (in pages) at which the writer checkpoints itself: the background
    /// checkpoints copy pages while the writer goes on, but only a checkpoint between two of the
    /// writer's transactions can finish and let the log start over.
    /// </summary>
    private const int WriterCheckpointPages = 4000;

    private readonly SqliteJobStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly Channel<WriteOp> _writes = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _initializeGate = new();
    private Task? _initialized;
    private readonly Lock _startGate = new();
    private Task? _writer;

    // Background checkpoints: requested by the writer every few commits, dropped while one is pending.
    private readonly Channel<byte> _checkpoints = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private Task? _checkpointer;
    private int _commitsSinceCheckpoint;
    private int _disposed;

    /// <summary>Set when the file turned out to be read-only at open: reads then open it read-only.</summary>
    private string? _readConnectionString;

    /// <summary>Creates a store. The file and schema are created on first use.</summary>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The connection string is empty or invalid.</exception>
    /// <param name="logger">Where the store logs the faults it handles itself; optional.</param>
    public SqliteJobStore(SqliteJobStoreOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        ArgumentNullException.ThrowIfNull(options);
        if (new SqliteJobStoreOptionsValidator().Validate(null, options) is { Failed: true } invalid)
        {
            throw new ArgumentException("Invalid SQLite store options: " + invalid.FailureMessage, nameof(options));
        }

        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        var builder = new SqliteConnectionStringBuilder(options.ConnectionString)
        {
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
            Pooling = true,
        };
        _connectionString = builder.ToString();
        DataSource = builder.DataSource;
    }

    /// <summary>The database file (or other data source) this store uses.</summary>
    public string DataSource { get; }

    /// <summary>Creates the schema (or checks it) now rather than on first use.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the database is ready.</returns>
    /// <exception cref="SqliteJobStoreException">The file is not a usable JobRuntime database.</exception>
    public Task InitializeAsync(CancellationToken cancellationToken) => Initialized().WaitAsync(cancellationToken);

    /// <summary>The schema check, started on first use; a failed one (a file that was not a database, say) is tried again next time.</summary>
    private Task Initialized()
    {
        lock (_initializeGate)
        {
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = InitializeAsync();
            }

            return _initialized;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _writes.Writer.TryComplete();
        if (_writer is { } writer)
        {
            await writer.ConfigureAwait(false);
        }

        _checkpoints.Writer.TryComplete();
        if (_checkpointer is { } checkpointer)
        {
            await checkpointer.ConfigureAwait(false);
        }

        // This store's pools only: other SQLite users of the process keep theirs.
        ClearPool(_connectionString);
        if (Volatile.Read(ref _readConnectionString) is { } read)
        {
            ClearPool(read);
        }

        static void ClearPool(string connectionString)
        {
            using var connection = new SqliteConnection(connectionString);
            SqliteConnection.ClearPool(connection);
        }
    }

    /// <summary>Finishes queued writes and closes the database.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private Task<T> WriteAsync<T>(string operation, Func<WriteContext, T> apply, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        EnsureWriter();
        var op = new WriteOp<T>(operation, apply, cancellationToken);
        if (!_writes.Writer.TryWrite(op))
        {
            throw new ObjectDisposedException(nameof(SqliteJobStore));
        }

        // The token withdraws the write while it waits for its batch; once the batch applies it, the
        // caller waits for the commit (a few milliseconds) and gets its answer. So an
        // OperationCanceledException always means "not written", never "written, but you stopped waiting".
        return op.Task;
    }

    private async Task<T> ReadAsync<T>(string operation, Func<SqliteConnection, T> read, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        await Initialized().WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = new SqliteConnection(Volatile.Read(ref _readConnectionString) ?? _connectionString);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return read(connection);
            }
        }
        catch (SqliteException ex)
        {
            throw Translate(operation, ex);
        }
    }

    private void EnsureWriter()
    {
        if (_writer is not null)
        {
            return;
        }

        lock (_startGate)
        {
            _checkpointer ??= Task.Run(CheckpointLoopAsync);
            _writer ??= Task.Run(WriterLoopAsync);
        }
    }

    private long _vmSteps;

    /// <summary>Whether the writer adds up the SQLite virtual-machine steps of its statements (for tests: a deterministic measure of work).</summary>
    internal bool CountVmSteps { get; set; }

    /// <summary>The virtual-machine steps the writer's statements ran since <see cref="CountVmSteps"/> was set, counted at each commit.</summary>
    internal long VmSteps => Volatile.Read(ref _vmSteps);

    private async Task WriterLoopAsync()
    {
        SqliteConnection? connection = null;
        var statements = new Dictionary<string, Statement>(StringComparer.Ordinal);
        var batch = new List<WriteOp>(_options.MaxBatchSize);
        try
        {
            while (await _writes.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (batch.Count < _options.MaxBatchSize && _writes.Reader.TryRead(out var op))
                {
                    batch.Add(op);
                }

                try
                {
                    await Initialized().ConfigureAwait(false);
                    if (Volatile.Read(ref _readConnectionString) is not null)
                    {
                        throw new SqliteJobStoreException($"JobRuntime.Sqlite could not {batch[0].Operation}: the database '{DataSource}' is read-only (its file or the medium it is on cannot be written); it can be read and listed, not written.");
                    }

                    connection ??= await OpenWriterAsync().ConfigureAwait(false);
                    Commit(connection, statements, batch);
                }
                catch (Exception ex)
                {
                    // Nothing in the batch was acknowledged: every caller sees the error.
                    var error = ex is SqliteException sqlite ? Translate(batch[0].Operation, sqlite) : ex;
                    foreach (var op in batch)
                    {
                        op.Fail(error);
                    }

                    if (connection is not null)
                    {
                        DisposeStatements(statements);
                        await connection.DisposeAsync().ConfigureAwait(false);
                        connection = null;
                    }
                }

                batch.Clear();
            }
        }
        finally
        {
            DisposeStatements(statements);
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static void DisposeStatements(Dictionary<string, Statement> statements)
    {
        // Finalized before the connection closes, so that it can close (and go back to the pool) cleanly.
        foreach (var statement in statements.Values)
        {
            statement.Dispose();
        }

        statements.Clear();
    }

    private void Commit(SqliteConnection connection, Dictionary<string, Statement> statements, List<WriteOp> batch)
    {
        var now = _time.GetUtcNow();
        using var transaction = connection.BeginTransaction(deferred: false);
        var context = new WriteContext(connection.Handle!, now, statements);
        CheckFile(context);
        foreach (var op in batch)
        {
            // Invariant of every write here: it refuses (throws something other than a
            // SqliteException) only before it has changed anything, so a refusal needs no rollback
            // and the rest of the batch commits. A SqliteException fails the whole batch.
            if (op.Token.IsCancellationRequested)
            {
                op.Refuse(new OperationCanceledException(op.Token));
                continue;
            }

            try
            {
                op.Apply(context);
            }
            catch (Exception ex) when (ex is not SqliteException)
            {
                op.Refuse(ex);
            }
        }

        transaction.Commit();
        if (CountVmSteps)
        {
            foreach (var statement in statements.Values)
            {
                _vmSteps += statement.TakeVmSteps();
            }
        }

        foreach (var op in batch)
        {
            op.Complete();
        }

        if (++_commitsSinceCheckpoint >= CommitsPerCheckpoint)
        {
            _commitsSinceCheckpoint = 0;
            _checkpoints.Writer.TryWrite(0);
        }
    }

    /// <summary>
    /// Copies committed pages from the write-ahead log into the database file on its own connection
    /// (a passive checkpoint never blocks the writer), so that the writer's own checkpoint, at
    /// <see cref="WriterCheckpointPages"/>, finds little left to copy and mostly just lets the log
    /// start over. Without it the writer stops every thousand pages to copy them itself.
    /// </summary>
    private async Task CheckpointLoopAsync()
    {
        SqliteConnection? connection = null;
        try
        {
            while (await _checkpoints.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                _checkpoints.Reader.TryRead(out _);
                try
                {
                    if (connection is null)
                    {
                        connection = new SqliteConnection(_connectionString);
                        await connection.OpenAsync().ConfigureAwait(false);
                    }

                    // SQLITE_BUSY (another checkpoint is running, maybe another process's) needs nothing;
                    // any real fault shows up at the writer's next commit, which reports it.
                    _ = SQLitePCL.raw.sqlite3_wal_checkpoint_v2(connection.Handle, null, SQLitePCL.raw.SQLITE_CHECKPOINT_PASSIVE, out _, out _);
                }
                catch (SqliteException)
                {
                    // Opening failed (the file went away, say): try again at the next request.
                    if (connection is not null)
                    {
                        await connection.DisposeAsync().ConfigureAwait(false);
                        connection = null;
                    }
                }
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<SqliteConnection> OpenWriterAsync()
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        Execute(connection, null, $"PRAGMA synchronous = {(_options.Synchronous == SqliteSynchronousMode.Full ? "FULL" : "NORMAL")}");
        Execute(connection, null, $"PRAGMA busy_timeout = {(int)_options.BusyTimeout.TotalMilliseconds}");
        Execute(connection, null, $"PRAGMA wal_autocheckpoint = {WriterCheckpointPages}");

        // A log that outgrew the checkpoint size (another process's readers held a checkpoint back)
        // is cut back to it when it next starts over; SQLite otherwise keeps the file at its largest.
        Execute(connection, null, $"PRAGMA journal_size_limit = {WriterCheckpointPages * 4096L * 5 / 4}");

        // The file as opened: the first writer connection's identity is the one every later batch checks.
        if (_fileIdentity is null && !string.IsNullOrEmpty(DataSource) && FileIdentity.Of(Path.GetFullPath(DataSource)) is { Inode: not 0 } identity)
        {
            _filePath = Path.GetFullPath(DataSource);
            _fileIdentity = identity;
        }
        return connection;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteJobStoreException Translate(string operation, SqliteException ex)
    {
        var what = ex.SqliteErrorCode switch
        {
            26 => $"'{DataSource}' is not a SQLite database (or it is encrypted)",
            11 => $"the database '{DataSource}' is corrupt",
            8 => $"the database '{DataSource}' is read-only",
            13 => $"the disk holding '{DataSource}' is full",
            5 or 6 => $"the database '{DataSource}' is locked by another program",
            14 => $"the database file '{DataSource}' cannot be opened",
            _ => $"SQLite error {ex.SqliteErrorCode} on '{DataSource}'",
        };
        return new SqliteJobStoreException($"JobRuntime.Sqlite could not {operation}: {what}. {ex.Message}", ex);
    }

    /// <summary>A queued write.</summary>
    private abstract class WriteOp(string operation, CancellationToken token)
    {
        public string Operation { get; } = operation;

        /// <summary>The caller's token: a write whose token tripped before its batch applies it is refused, unwritten.</summary>
        public CancellationToken Token { get; } = token;

        public abstract void Apply(WriteContext context);

        public abstract void Refuse(Exception error);

        public abstract void Complete();

        public abstract void Fail(Exception error);
    }

    private sealed class WriteOp<T>(string operation, Func<WriteContext, T> apply, CancellationToken token) : WriteOp(operation, token)
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _refused;

        public Task<T> Task => _tcs.Task;

        public override void Apply(WriteContext context)
        {
            _refused = null;
            _result = apply(context);
        }

        public override void Refuse(Exception error) => _refused = error;

        public override void Complete()
        {
            if (_refused is not null)
            {
                _tcs.TrySetException(_refused);
            }
            else
            {
                _tcs.TrySetResult(_result!);
            }
        }

        public override void Fail(Exception error) => _tcs.TrySetException(error);
    }
}
