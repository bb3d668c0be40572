using Microsoft.Extensions.Logging;

namespace JobRuntime.PostgreSql;

/// <summary>What the PostgreSQL store logs (category <c>JobRuntime.PostgreSql</c>): faults it handles itself and would otherwise hide.</summary>
internal static partial class Log
{
    [LoggerMessage(101, LogLevel.Warning, "The PostgreSQL listener (schema {Schema}) has no connection; reconnecting in {Delay}. Until then cancels and new jobs from other nodes arrive at lease renewal and poll")]
    public static partial void ListenerDown(ILogger logger, Exception exception, string schema, TimeSpan delay);

    [LoggerMessage(102, LogLevel.Information, "The PostgreSQL listener (schema {Schema}) is connected again after {Failures} failed attempt(s)")]
    public static partial void ListenerBack(ILogger logger, string schema, int failures);

    [LoggerMessage(103, LogLevel.Warning, "Maintenance of the jobs table (schema {Schema}) failed; the next check tries again")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception, string schema);

    [LoggerMessage(104, LogLevel.Warning, "PostgreSQL refused the outcome of job {JobId} ({Reason}); a failure saying so was stored instead")]
    public static partial void OutcomeReplaced(ILogger logger, JobId jobId, string reason);
}
