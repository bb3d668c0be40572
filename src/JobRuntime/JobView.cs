using System.Text.Json;
using System.Text.Json.Serialization;

namespace JobRuntime;

/// <summary>
/// A job as it is shown to people and other programs: serializes to clean JSON — its arguments and
/// result embedded as JSON values (not strings of JSON), statuses as names, no store internals
/// (lease owner, trace context, idempotency key), artifacts described rather than inlined. Made by
/// <see cref="JobSnapshot.ToView"/>.
/// </summary>
public sealed record JobView
{
    /// <summary>The job's id.</summary>
    public required JobId Id { get; init; }

    /// <summary>The job type.</summary>
    public required string Type { get; init; }

    /// <summary>A human-readable title, if it has one.</summary>
    public string? Title { get; init; }

    /// <summary>The queue it runs in.</summary>
    public required string Queue { get; init; }

    /// <summary>Higher runs first.</summary>
    public int Priority { get; init; }

    /// <summary>The lifecycle state.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
    public JobStatus Status { get; init; }

    /// <summary>Why a pending job is not running yet.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<JobWaitReason>))]
    public JobWaitReason WaitReason { get; init; }

    /// <summary>The last known progress.</summary>
    public required JobProgress Progress { get; init; }

    /// <summary>The arguments, as the JSON they were stored as.</summary>
    public JsonElement Args { get; init; }

    /// <summary>The result, once completed.</summary>
    public JsonElement? Result { get; init; }

    /// <summary>Why it did not complete, if it did not.</summary>
    public JobError? Error { get; init; }

    /// <summary>Its artifacts, described (fetch the content from the snapshot).</summary>
    public IReadOnlyList<JobArtifactInfo> Artifacts { get; init; } = [];

    /// <summary>Every failed attempt's error, oldest first (type and message; the last one's stack trace is in <see cref="Error"/>).</summary>
    public IReadOnlyList<JobAttemptError> AttemptErrors { get; init; } = [];

    /// <summary>Attempts started so far.</summary>
    public int Attempt { get; init; }

    /// <summary>The most attempts it may make.</summary>
    public int MaxAttempts { get; init; }

    /// <summary>When it was submitted.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The earliest time it may run.</summary>
    public DateTimeOffset ScheduledAt { get; init; }

    /// <summary>When its current or last attempt started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it finished.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>How long its last attempt ran, once finished.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The time limit of one attempt.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Whether a cancellation was requested while it ran.</summary>
    public bool CancellationRequested { get; init; }

    /// <summary>Its tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The jobs it waits for (a batch's head leaves its members out: list them with <see cref="JobQuery.BatchId"/>).</summary>
    public IReadOnlyList<JobId> DependsOn { get; init; } = [];

    /// <summary>The job's own retry timing, given at submit (the handler's applies when <see langword="null"/>).</summary>
    public JobRetryTiming? Retry { get; init; }

    /// <summary>The batch the job belongs to, if any (the batch's id is its head job's id).</summary>
    public JobId? BatchId { get; init; }

    /// <summary>
    /// The jobs that wait for this one (or waited), when the view was made with them
    /// (<c>JobRuntime.AspNetCore</c>'s job endpoint lists up to 100; <see cref="JobSnapshot.ToView"/> alone
    /// leaves it empty: list them with <see cref="JobQuery.DependsOn"/>).
    /// </summary>
    public IReadOnlyList<JobId> Dependents { get; init; } = [];

    /// <summary>The completed job whose result this one reused (<see cref="JobSubmitOptions.CacheResultFor"/>); it did not run.</summary>
    public JobId? CachedFrom { get; init; }

    /// <summary>The job this one re-runs.</summary>
    public JobId? RerunOf { get; init; }
}

/// <summary>An artifact as a <see cref="JobView"/> describes it.</summary>
/// <param name="Name">Its name.</param>
/// <param name="ContentType">Its MIME type.</param>
/// <param name="Size">The size of its content in bytes, when the content is kept with the job.</param>
/// <param name="FilePath">The file holding it, when it is a file.</param>
public sealed record JobArtifactInfo(string Name, string ContentType, long? Size, string? FilePath);
