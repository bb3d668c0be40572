using System.Text.Json;
using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

public sealed partial class SqliteJobStore
{
    private const string Columns =
        "id, type, queue, priority, payload, status, progress_current, progress_total, progress_message, progress_stage, " +
        "result, error_type, error_message, error_stack, artifacts, attempt, max_attempts, created_at, scheduled_at, started_at, " +
        "completed_at, title, tags, depends_on, on_parent_failure, idempotency_key, timeout_ticks, cancel_requested, owner, " +
        "trace_parent, rerun_of, pending_parents";

    private static byte[] Key(JobId id) => id.Value.ToByteArray(bigEndian: true);

    private static JobId ReadId(SqliteDataReader reader, int ordinal) => new(new Guid(reader.GetFieldValue<byte[]>(ordinal), bigEndian: true));

    private static long Ticks(DateTimeOffset value) => value.UtcTicks;

    private static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    private static object Db(object? value) => value ?? DBNull.Value;

    private static string? Json<T>(IReadOnlyList<T> values) => values.Count == 0 ? null : JsonSerializer.Serialize(values, SqliteJsonContext.Default.GetTypeInfo(typeof(IReadOnlyList<T>))!);

    private static IReadOnlyList<T> FromJson<T>(SqliteDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal) ? [] : (IReadOnlyList<T>)JsonSerializer.Deserialize(reader.GetString(ordinal), SqliteJsonContext.Default.GetTypeInfo(typeof(IReadOnlyList<T>))!)!;

    private static string? ArtifactsJson(IReadOnlyList<JobArtifact> artifacts)
        => artifacts.Count == 0 ? null : JsonSerializer.Serialize(artifacts.Select(a => new StoredArtifact(a.Name, a.ContentType, a.FilePath, a.Data)).ToList(), SqliteJsonContext.Default.ListStoredArtifact);

    private static IReadOnlyList<JobArtifact> ReadArtifacts(SqliteDataReader reader, int ordinal)
        => reader.IsDBNull(ordinal)
            ? []
            : JsonSerializer.Deserialize(reader.GetString(ordinal), SqliteJsonContext.Default.ListStoredArtifact)!
                .Select(a => new JobArtifact(a.Name, a.ContentType, a.FilePath, a.Data)).ToList();

    private static string? String(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? OptionalTime(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Time(reader.GetInt64(ordinal));

    /// <summary>Reads a row selected with <see cref="Columns"/>.</summary>
    private static JobSnapshot ReadJob(SqliteDataReader r, DateTimeOffset now)
    {
        var status = (JobStatus)r.GetInt32(5);
        var errorType = String(r, 11);
        var job = new JobSnapshot
        {
            Id = ReadId(r, 0),
            Type = r.GetString(1),
            Queue = r.GetString(2),
            Priority = r.GetInt32(3),
            Payload = r.GetString(4),
            Status = status,
            Progress = new JobProgress(r.GetInt64(6), r.GetInt64(7), String(r, 8), String(r, 9)),
            Result = String(r, 10),
            Error = errorType is null ? null : new JobError(errorType, String(r, 12) ?? "", String(r, 13)),
            Artifacts = ReadArtifacts(r, 14),
            Attempt = r.GetInt32(15),
            MaxAttempts = r.GetInt32(16),
            CreatedAt = Time(r.GetInt64(17)),
            ScheduledAt = Time(r.GetInt64(18)),
            StartedAt = OptionalTime(r, 19),
            CompletedAt = OptionalTime(r, 20),
            Title = String(r, 21),
            Tags = FromJson<string>(r, 22),
            DependsOn = FromJson<JobId>(r, 23),
            OnParentFailure = (DependencyFailureBehavior)r.GetInt32(24),
            IdempotencyKey = String(r, 25),
            Timeout = r.IsDBNull(26) ? null : TimeSpan.FromTicks(r.GetInt64(26)),
            CancellationRequested = r.GetInt64(27) != 0,
            Owner = String(r, 28),
            TraceParent = String(r, 29),
            RerunOf = r.IsDBNull(30) ? null : ReadId(r, 30),
        };
        return job with { WaitReason = JobWaitReasons.Of(job, waitingForParents: r.GetInt32(31) > 0, now) };
    }

    private static List<JobSnapshot> ReadJobs(SqliteCommand command, DateTimeOffset now)
    {
        using var reader = command.ExecuteReader();
        var jobs = new List<JobSnapshot>();
        while (reader.Read())
        {
            jobs.Add(ReadJob(reader, now));
        }

        return jobs;
    }

    /// <summary>An artifact as stored in the artifacts JSON column (blob data as base64).</summary>
    internal sealed record StoredArtifact(string Name, string ContentType, string? FilePath, byte[]? Data);
}
