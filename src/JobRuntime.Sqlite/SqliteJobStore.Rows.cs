using System.Text.Json;
using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore
{
    private const string Columns =
        "id, type, queue, priority, payload, status, progress_current, progress_total, progress_message, progress_stage, " +
        "result, error_type, error_message, error_stack, artifacts, attempt, max_attempts, created_at, scheduled_at, started_at, " +
        "completed_at, title, tags, depends_on, on_parent_failure, idempotency_key, timeout_ticks, cancel_requested, owner, " +
        "trace_parent, rerun_of, pending_parents, attempt_errors, cached_from, batch_id, retry";

    private static byte[] Key(JobId id) => id.Value.ToByteArray(bigEndian: true);

    private static long Ticks(DateTimeOffset value) => value.UtcTicks;

    private static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    private static object Db(object? value) => value ?? DBNull.Value;

    private static string? Json<T>(IReadOnlyList<T> values) => values.Count == 0 ? null : JsonSerializer.Serialize(values, SqliteJsonContext.Default.GetTypeInfo(typeof(IReadOnlyList<T>))!);

    private static IReadOnlyList<T> FromJson<T, TRow>(TRow row, int column)
        where TRow : IRow
        => row.IsNull(column) ? [] : (IReadOnlyList<T>)JsonSerializer.Deserialize(row.Text(column), SqliteJsonContext.Default.GetTypeInfo(typeof(IReadOnlyList<T>))!)!;

    private static string? ArtifactsJson(IReadOnlyList<JobArtifact> artifacts)
        => artifacts.Count == 0 ? null : JsonSerializer.Serialize(artifacts.Select(a => new StoredArtifact(a.Name, a.ContentType, a.FilePath, a.Data)).ToList(), SqliteJsonContext.Default.ListStoredArtifact);

    private static IReadOnlyList<JobArtifact> ReadArtifacts<TRow>(TRow row, int column)
        where TRow : IRow
        => row.IsNull(column)
            ? []
            : JsonSerializer.Deserialize(row.Text(column), SqliteJsonContext.Default.ListStoredArtifact)!
                .Select(a => new JobArtifact(a.Name, a.ContentType, a.FilePath, a.Data)).ToList();

    private static string? String<TRow>(TRow row, int column)
        where TRow : IRow
        => row.IsNull(column) ? null : row.Text(column);

    private static DateTimeOffset? OptionalTime<TRow>(TRow row, int column)
        where TRow : IRow
        => row.IsNull(column) ? null : Time(row.Int64(column));

    /// <summary>Reads a row selected with <see cref="Columns"/>.</summary>
    private static JobSnapshot ReadJob<TRow>(TRow r, DateTimeOffset now)
        where TRow : IRow
    {
        var status = (JobStatus)(int)r.Int64(5);
        var errorType = String(r, 11);
        var job = new JobSnapshot
        {
            Id = r.Id(0),
            Type = r.Text(1),
            Queue = r.Text(2),
            Priority = (int)r.Int64(3),
            Payload = r.Text(4),
            Status = status,
            Progress = new JobProgress(r.Int64(6), r.Int64(7), String(r, 8), String(r, 9)),
            Result = String(r, 10),
            Error = errorType is null ? null : new JobError(errorType, String(r, 12) ?? "", String(r, 13)),
            Artifacts = ReadArtifacts(r, 14),
            Attempt = (int)r.Int64(15),
            MaxAttempts = (int)r.Int64(16),
            CreatedAt = Time(r.Int64(17)),
            ScheduledAt = Time(r.Int64(18)),
            StartedAt = OptionalTime(r, 19),
            CompletedAt = OptionalTime(r, 20),
            Title = String(r, 21),
            Tags = FromJson<string, TRow>(r, 22),
            DependsOn = FromJson<JobId, TRow>(r, 23),
            OnParentFailure = (DependencyFailureBehavior)(int)r.Int64(24),
            IdempotencyKey = String(r, 25),
            Timeout = r.IsNull(26) ? null : TimeSpan.FromTicks(r.Int64(26)),
            CancellationRequested = r.Int64(27) != 0,
            Owner = String(r, 28),
            TraceParent = String(r, 29),
            RerunOf = r.IsNull(30) ? null : r.Id(30),
            AttemptErrors = JobAttemptHistory.Parse(String(r, 32)),
            CachedFrom = r.IsNull(33) ? null : r.Id(33),
            BatchId = r.IsNull(34) ? null : r.Id(34),
            Retry = JobRetryTiming.Parse(String(r, 35)),
        };
        // Most rows (running, finished, due) wait for nothing: no second copy for them.
        var reason = JobWaitReasons.Of(job, waitingForParents: r.Int64(31) > 0, now);
        return reason == JobWaitReason.None ? job : job with { WaitReason = reason };
    }

    private static List<JobSnapshot> ReadJobs(SqliteCommand command, DateTimeOffset now)
    {
        using var reader = command.ExecuteReader();
        var jobs = new List<JobSnapshot>();
        while (reader.Read())
        {
            jobs.Add(ReadJob(new ReaderRow(reader), now));
        }

        return jobs;
    }

    private static List<JobSnapshot> ReadJobs(Statement statement, DateTimeOffset now) => statement.Rows(row => ReadJob(row, now));

    /// <summary>An artifact as stored in the artifacts JSON column (blob data as base64).</summary>
    internal sealed record StoredArtifact(string Name, string ContentType, string? FilePath, byte[]? Data);
}
