using Microsoft.Extensions.Logging;

namespace JobRuntime.Sqlite;

/// <summary>What the SQLite store logs (category <c>JobRuntime.Sqlite</c>): faults it handles itself and would otherwise hide.</summary>
internal static partial class Log
{
    [LoggerMessage(201, LogLevel.Warning, "Checking {DataSource} for other processes' cancels failed; trying again in {Delay} (lease renewals still deliver them)")]
    public static partial void SignalPollFailed(ILogger logger, Exception exception, string dataSource, TimeSpan delay);
}
