using SQLitePCL;

namespace JobRuntime.Sqlite;

/// <summary>What a queued write sees: the writer's connection (inside its open transaction), the batch's time, and prepared statements.</summary>
internal sealed class WriteContext(sqlite3 connection, DateTimeOffset now, Dictionary<string, Statement> statements)
{
    public DateTimeOffset Now { get; } = now;

    public long NowTicks { get; } = now.UtcTicks;

    /// <summary>The prepared statement for <paramref name="sql"/>, reused across writes on this connection, with its parameters cleared.</summary>
    public Statement Command(string sql)
    {
        if (!statements.TryGetValue(sql, out var statement))
        {
            statement = new Statement(connection, sql);
            statements[sql] = statement;
        }

        return statement.Reuse();
    }
}
