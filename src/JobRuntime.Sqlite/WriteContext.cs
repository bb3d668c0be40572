using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

/// <summary>What a queued write sees: the writer's connection and open transaction, the batch's time, and prepared commands.</summary>
internal sealed class WriteContext(SqliteConnection connection, SqliteTransaction transaction, DateTimeOffset now, Dictionary<string, SqliteCommand> commands)
{
    public DateTimeOffset Now { get; } = now;

    public long NowTicks { get; } = now.UtcTicks;

    /// <summary>A prepared command for <paramref name="sql"/>, reused across writes on this connection, with its parameters cleared.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            commands[sql] = command;
        }

        command.Transaction = transaction;
        command.Parameters.Clear();
        return command;
    }
}
