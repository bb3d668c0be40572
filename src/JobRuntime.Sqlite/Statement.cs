using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace JobRuntime.Sqlite;

/// <summary>
/// A statement of the writer, prepared once on its connection and run through SQLite's own API
/// (SQLitePCLRaw, which Microsoft.Data.Sqlite is built on). The writer's statements run tens of
/// thousands of times a second; going through the raw handle binds strings, integers and ids
/// without the provider's per-parameter objects and reads rows without a data reader.
/// Used only on the writer's thread, inside its transaction.
/// </summary>
internal sealed class Statement : IRow, IDisposable
{
    private const int PreparePersistent = 0x01;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private readonly Dictionary<string, int> _parameters;

    public Statement(sqlite3 db, string sql)
    {
        _db = db;
        var rc = raw.sqlite3_prepare_v3(db, sql, PreparePersistent, out _stmt, out string tail);
        SqliteException.ThrowExceptionForRC(rc, db);
        if (!string.IsNullOrWhiteSpace(tail))
        {
            _stmt.Dispose();
            throw new ArgumentException("A statement holds exactly one SQL statement.", nameof(sql));
        }

        var count = raw.sqlite3_bind_parameter_count(_stmt);
        _parameters = new Dictionary<string, int>(count, StringComparer.Ordinal);
        for (var i = 1; i <= count; i++)
        {
            _parameters[raw.sqlite3_bind_parameter_name(_stmt, i).utf8_to_string()] = i;
        }
    }

    /// <summary>Makes the statement ready for a new run: reset, every parameter NULL.</summary>
    public Statement Reuse()
    {
        raw.sqlite3_reset(_stmt);
        raw.sqlite3_clear_bindings(_stmt);
        return this;
    }

    public Statement Bind(string name, long value) => Check(raw.sqlite3_bind_int64(_stmt, Index(name), value));

    public Statement Bind(string name, string? value)
        => value is null ? BindNull(name) : Check(raw.sqlite3_bind_text16(_stmt, Index(name), value.AsSpan()));

    /// <summary>Binds a job id as the 16-byte big-endian key the table uses, without an array.</summary>
    public Statement Bind(string name, JobId id)
    {
        Span<byte> key = stackalloc byte[16];
        id.Value.TryWriteBytes(key, bigEndian: true, out _);
        return Check(raw.sqlite3_bind_blob(_stmt, Index(name), key));
    }

    public Statement Bind(string name, Guid value)
    {
        Span<byte> bytes = stackalloc byte[16];
        value.TryWriteBytes(bytes);
        return Check(raw.sqlite3_bind_blob(_stmt, Index(name), bytes));
    }

    /// <summary>Binds a value of one of the column types the writer stores: text, integer, id or NULL.</summary>
    public Statement Bind(string name, object? value) => value switch
    {
        null => BindNull(name),
        string text => Bind(name, text),
        long number => Bind(name, number),
        int number => Bind(name, number),
        JobId id => Bind(name, id),
        _ => throw new ArgumentException($"Cannot bind a {value.GetType().Name} to {name}.", nameof(value)),
    };

    public Statement BindNull(string name) => Check(raw.sqlite3_bind_null(_stmt, Index(name)));

    /// <summary>Runs the statement to its end; returns the rows it changed.</summary>
    public int Execute()
    {
        try
        {
            while (Step())
            {
            }

            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_stmt);
        }
    }

    /// <summary>The first column of the first row, or <see langword="null"/> when there is no row or it is NULL.</summary>
    public long? ScalarInt64()
    {
        try
        {
            return Step() && !IsNull(0) ? Int64(0) : null;
        }
        finally
        {
            raw.sqlite3_reset(_stmt);
        }
    }

    /// <summary>Every row, read by <paramref name="read"/>; the statement is reset afterwards.</summary>
    public List<T> Rows<T>(Func<Statement, T> read)
    {
        try
        {
            var rows = new List<T>();
            while (Step())
            {
                rows.Add(read(this));
            }

            return rows;
        }
        finally
        {
            raw.sqlite3_reset(_stmt);
        }
    }

    /// <summary>The virtual-machine steps this statement ran since the last call (SQLite's own count of work done; deterministic, for tests).</summary>
    public long TakeVmSteps() => raw.sqlite3_stmt_status(_stmt, raw.SQLITE_STMTSTATUS_VM_STEP, 1);

    public bool IsNull(int column) => raw.sqlite3_column_type(_stmt, column) == raw.SQLITE_NULL;

    public long Int64(int column) => raw.sqlite3_column_int64(_stmt, column);

    public string Text(int column) => raw.sqlite3_column_text(_stmt, column).utf8_to_string();

    public JobId Id(int column) => new(new Guid(raw.sqlite3_column_blob(_stmt, column), bigEndian: true));

    public void Dispose() => _stmt.Dispose();

    private bool Step()
    {
        var rc = raw.sqlite3_step(_stmt);
        switch (rc)
        {
            case raw.SQLITE_ROW:
                return true;
            case raw.SQLITE_DONE:
                return false;
            default:
                SqliteException.ThrowExceptionForRC(rc, _db);
                return false;
        }
    }

    private int Index(string name)
        => _parameters.TryGetValue(name, out var index) ? index : throw new ArgumentException($"The statement has no parameter {name}.", nameof(name));

    private Statement Check(int rc)
    {
        SqliteException.ThrowExceptionForRC(rc, _db);
        return this;
    }
}

/// <summary>One row's columns, read the same way from the writer's statements and from a data reader.</summary>
internal interface IRow
{
    bool IsNull(int column);

    long Int64(int column);

    string Text(int column);

    JobId Id(int column);
}

/// <summary>A data reader's current row as an <see cref="IRow"/>.</summary>
internal readonly struct ReaderRow(SqliteDataReader reader) : IRow
{
    public bool IsNull(int column) => reader.IsDBNull(column);

    public long Int64(int column) => reader.GetInt64(column);

    public string Text(int column) => reader.GetString(column);

    public JobId Id(int column) => new(new Guid(reader.GetFieldValue<byte[]>(column), bigEndian: true));
}
