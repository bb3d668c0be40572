using System.Text.Json;

namespace JobRuntime;

/// <summary>
/// The state of one job at a point in time, as stored. Instances are immutable; stores build new
/// ones with <c>with</c> expressions.
/// </summary>
public sealed record JobSnapshot
{
    /// <summary>The job's id.</summary>
    public required JobId Id { get; init; }

    /// <summary>The registered job type (handler name).</summary>
    public required string Type { get; init; }

    /// <summary>The queue the job runs in.</summary>
    public required string Queue { get; init; }

    /// <summary>Higher runs first among ready jobs of a queue.</summary>
    public int Priority { get; init; }

    /// <summary>The arguments as JSON.</summary>
    public required string Payload { get; init; }

    /// <summary>The lifecycle state.</summary>
    public JobStatus Status { get => (JobStatus)_status; init => _status = (uint)value <= byte.MaxValue ? (byte)value : throw new ArgumentOutOfRangeException(nameof(Status), value, "Not a job status."); }

    /// <summary>Why a pending job is not running yet; <see cref="JobWaitReason.None"/> otherwise.</summary>
    public JobWaitReason WaitReason { get => (JobWaitReason)_waitReason; init => _waitReason = (uint)value <= byte.MaxValue ? (byte)value : throw new ArgumentOutOfRangeException(nameof(WaitReason), value, "Not a wait reason."); }

    // The two enums as bytes (their values are small): with the flag below they share one word.
    private byte _status;
    private byte _waitReason;

    /// <summary>The last progress stored (stores persist progress throttled).</summary>
    public JobProgress Progress { get => _ended.Progress; init => Change(ref _ended, _ended.Progress, value, static (e, v) => e.Progress = v); }

    /// <summary>The result as JSON, once completed.</summary>
    public string? Result { get => _ended.Result; init => Change(ref _ended, _ended.Result, value, static (e, v) => e.Result = v); }

    /// <summary>The error of the last failed attempt, or why the job was cancelled or timed out.</summary>
    public JobError? Error { get => _ended.Error; init => Change(ref _ended, _ended.Error, value, static (e, v) => e.Error = v); }

    /// <summary>Named outputs of the job.</summary>
    public IReadOnlyList<JobArtifact> Artifacts { get => _ended.Artifacts; init => Change(ref _ended, _ended.Artifacts, value, static (e, v) => e.Artifacts = v); }

    /// <summary>The number of attempts started so far (1 while the first attempt runs).</summary>
    public int Attempt { get; init; }

    /// <summary>The most attempts the job may make.</summary>
    public int MaxAttempts { get; init; } = 1;

    // The times are kept as UTC ticks (8 bytes; a DateTimeOffset takes 16 and a nullable one 24): a
    // snapshot is copied at each transition and held by the store while the job waits. They read back
    // as the same instants, in UTC.
    private const long NoTime = long.MinValue;
    private long _createdAt;
    private long _scheduledAt;

    // What is set at submit and seldom after (title, tags, parents, key, timeout, trace, …) lives in one
    // shared object: a copy made at a transition (claim, outcome) takes its reference, not its ~120 bytes.
    // Setting one of them copies that object (only at submit, or when an attempt's error is appended).
    private Submitted _submitted = Submitted.Defaults;

    // What attempts leave (owner, start, progress, result, error, artifacts, completion time) likewise: a job
    // that never ran has none of it — its snapshots share one empty object — and a waiting job's snapshot, the
    // one a store holds longest, is the smaller.
    private Ended _ended = Ended.Defaults;

    /// <summary>
    /// The copy a <c>with</c> expression starts from: every field, and the shared parts marked shared, so that a
    /// change to one of their fields in the expression copies that part once (and later ones change the copy).
    /// </summary>
    private JobSnapshot(JobSnapshot original)
    {
        Id = original.Id;
        Type = original.Type;
        Queue = original.Queue;
        Priority = original.Priority;
        Payload = original.Payload;
        Status = original.Status;
        WaitReason = original.WaitReason;
        Attempt = original.Attempt;
        MaxAttempts = original.MaxAttempts;
        _createdAt = original._createdAt;
        _scheduledAt = original._scheduledAt;
        CancellationRequested = original.CancellationRequested;
        original._submitted.Shared = true;
        _submitted = original._submitted;
        original._ended.Shared = true;
        _ended = original._ended;
    }

    /// <summary>A new snapshot (set its members with an object initializer).</summary>
    public JobSnapshot()
    {
    }

    /// <summary>When the job was submitted (UTC).</summary>
    public DateTimeOffset CreatedAt { get => new(_createdAt, TimeSpan.Zero); init => _createdAt = value.UtcTicks; }

    /// <summary>The earliest time the job may run (its run time, or the end of a retry back-off; UTC).</summary>
    public DateTimeOffset ScheduledAt { get => new(_scheduledAt, TimeSpan.Zero); init => _scheduledAt = value.UtcTicks; }

    /// <summary>When the current or last attempt started (UTC).</summary>
    public DateTimeOffset? StartedAt { get => Time(_ended.StartedAt); init => Change(ref _ended, _ended.StartedAt, value?.UtcTicks ?? NoTime, static (e, v) => e.StartedAt = v); }

    /// <summary>When the job reached a terminal state (UTC).</summary>
    public DateTimeOffset? CompletedAt { get => Time(_ended.CompletedAt); init => Change(ref _ended, _ended.CompletedAt, value?.UtcTicks ?? NoTime, static (e, v) => e.CompletedAt = v); }

    /// <summary>How long the last attempt ran, once the job is terminal.</summary>
    public TimeSpan? Duration => StartedAt is { } started && CompletedAt is { } completed ? completed - started : null;

    /// <summary>Whether the job reached a terminal state.</summary>
    public bool IsTerminal => Status.IsTerminal();

    /// <summary>A human-readable title.</summary>
    public string? Title { get => _submitted.Title; init => Change(ref _submitted, _submitted.Title, value, static (s, v) => s.Title = v); }

    /// <summary>Free-form tags for filtering and display.</summary>
    public IReadOnlyList<string> Tags { get => _submitted.Tags; init => Change(ref _submitted, _submitted.Tags, value, static (s, v) => s.Tags = v); }

    /// <summary>The jobs this job waits for.</summary>
    public IReadOnlyList<JobId> DependsOn { get => _submitted.DependsOn; init => Change(ref _submitted, _submitted.DependsOn, value, static (s, v) => s.DependsOn = v); }

    /// <summary>What happens to this job when a parent does not complete.</summary>
    public DependencyFailureBehavior OnParentFailure { get => _submitted.OnParentFailure; init => Change(ref _submitted, _submitted.OnParentFailure, value, static (s, v) => s.OnParentFailure = v); }

    /// <summary>The idempotency key the job was submitted with.</summary>
    public string? IdempotencyKey { get => _submitted.IdempotencyKey; init => Change(ref _submitted, _submitted.IdempotencyKey, value, static (s, v) => s.IdempotencyKey = v); }

    /// <summary>The time limit of one attempt, if any.</summary>
    public TimeSpan? Timeout { get => _submitted.Timeout == NoTime ? null : new TimeSpan(_submitted.Timeout); init => Change(ref _submitted, _submitted.Timeout, value?.Ticks ?? NoTime, static (s, v) => s.Timeout = v); }

    /// <summary>Whether a cancellation was requested while the job ran.</summary>
    public bool CancellationRequested { get; init; }

    /// <summary>The worker (node) that holds the job's lease while it runs.</summary>
    public string? Owner { get => _ended.Owner; init => Change(ref _ended, _ended.Owner, value, static (e, v) => e.Owner = v); }

    /// <summary>The W3C trace context of the submitter, used to link the run's activity.</summary>
    public string? TraceParent { get => _submitted.TraceParent; init => Change(ref _submitted, _submitted.TraceParent, value, static (s, v) => s.TraceParent = v); }

    /// <summary>
    /// Every failed attempt's error, oldest first (type and message; the last one's stack trace is in
    /// <see cref="Error"/>), at most the last <see cref="Storage.JobAttemptHistory.MaxKept"/>.
    /// </summary>
    public IReadOnlyList<JobAttemptError> AttemptErrors { get => _submitted.AttemptErrors; init => Change(ref _submitted, _submitted.AttemptErrors, value, static (s, v) => s.AttemptErrors = v); }

    /// <summary>
    /// The submit's <see cref="JobSubmitOptions.CacheResultFor"/>: read by the store when it inserts the
    /// job (a store need not keep it).
    /// </summary>
    public TimeSpan? CacheResultFor { get => _submitted.CacheResultFor == NoTime ? null : new TimeSpan(_submitted.CacheResultFor); init => Change(ref _submitted, _submitted.CacheResultFor, value?.Ticks ?? NoTime, static (s, v) => s.CacheResultFor = v); }

    /// <summary>The job's own retry timing (<see cref="JobSubmitOptions.Retry"/>), instead of its handler's; <see langword="null"/> for the handler's.</summary>
    public JobRetryTiming? Retry { get => _submitted.Retry; init => Change(ref _submitted, _submitted.Retry, value, static (s, v) => s.Retry = v); }

    /// <summary>When the job was served from a result cache: the completed job whose result it reused (it did not run).</summary>
    public JobId? CachedFrom { get => OptionalId(_submitted.CachedFrom); init => Change(ref _submitted, _submitted.CachedFrom, value?.Value ?? Guid.Empty, static (s, v) => s.CachedFrom = v); }

    /// <summary>The job this one re-runs, if it was created by a re-run.</summary>
    public JobId? RerunOf { get => OptionalId(_submitted.RerunOf); init => Change(ref _submitted, _submitted.RerunOf, value?.Value ?? Guid.Empty, static (s, v) => s.RerunOf = v); }

    /// <summary>
    /// The batch the job belongs to (<see cref="IJobManager.SubmitBatchAsync"/>), if any: its id is the
    /// batch's head job, which carries its own id here and waits for every member.
    /// </summary>
    public JobId? BatchId { get => OptionalId(_submitted.BatchId); init => Change(ref _submitted, _submitted.BatchId, value?.Value ?? Guid.Empty, static (s, v) => s.BatchId = v); }

    /// <summary>Whether this job is a batch's head (its <see cref="BatchId"/> is its own id): it runs once every member has finished.</summary>
    public bool IsBatchHead => _submitted.BatchId != Guid.Empty && _submitted.BatchId == Id.Value;

    /// <summary>Reads the job's result as <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The handler's result type.</typeparam>
    /// <param name="options">The serializer options the runtime was configured with; the runtime's default (<see cref="JsonSerializerDefaults.Web"/>) when <see langword="null"/>.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidOperationException">The job has not completed (it has no result); the message says its status.</exception>
    /// <exception cref="InvalidCastException">The stored result does not read as <typeparamref name="T"/>; the message names the job.</exception>
    public T GetResult<T>(JsonSerializerOptions? options = null)
    {
        if (Status != JobStatus.Completed || Result is null)
        {
            throw new InvalidOperationException($"Job {Id} ({Type}) is {Status}: only a completed job has a result." + (Error is { } error ? $" Its error: {error}" : ""));
        }

        return Read<T>(Result, "result", options);
    }

    /// <summary>Reads the job's arguments as <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The handler's argument type.</typeparam>
    /// <param name="options">The serializer options the runtime was configured with; the runtime's default (<see cref="JsonSerializerDefaults.Web"/>) when <see langword="null"/>.</param>
    /// <returns>The arguments.</returns>
    /// <exception cref="InvalidCastException">The stored arguments do not read as <typeparamref name="T"/>; the message names the job.</exception>
    public T GetArgs<T>(JsonSerializerOptions? options = null) => Read<T>(Payload, "arguments", options);

    /// <summary>A view of the job for display and serialization: arguments and result as JSON values, statuses as names, no store internals.</summary>
    /// <returns>The view.</returns>
    public JobView ToView() => new()
    {
        Id = Id,
        Type = Type,
        Title = Title,
        Queue = Queue,
        Priority = Priority,
        Status = Status,
        WaitReason = WaitReason,
        Progress = Progress,
        Args = ParseOrString(Payload),
        Result = Result is null ? null : ParseOrString(Result),
        Error = Error,
        AttemptErrors = AttemptErrors,
        Artifacts = Artifacts.Select(a => new JobArtifactInfo(a.Name, a.ContentType, a.Data?.LongLength, a.FilePath)).ToList(),
        Attempt = Attempt,
        MaxAttempts = MaxAttempts,
        CreatedAt = CreatedAt,
        ScheduledAt = ScheduledAt,
        StartedAt = StartedAt,
        CompletedAt = CompletedAt,
        Duration = Duration,
        Timeout = Timeout,
        CancellationRequested = CancellationRequested,
        Tags = Tags,
        DependsOn = IsBatchHead ? [] : DependsOn,
        RerunOf = RerunOf,
        CachedFrom = CachedFrom,
        BatchId = BatchId,
        Retry = Retry,
    };

    private T Read<T>(string json, string what, JsonSerializerOptions? options)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, options ?? JsonSerializerOptions.Web)!;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            throw new InvalidCastException($"Job {Id} ({Type}): its stored {what} cannot be read as a {typeof(T).FullName}: {ex.Message} Stored: {Shorten(json)}", ex);
        }

        static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
    }

    /// <summary>Stored JSON as a value; text that is not JSON (written by hand into a store) as a string value.</summary>
    private static JsonElement ParseOrString(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(json);
        }
    }

    private static DateTimeOffset? Time(long ticks) => ticks == NoTime ? null : new DateTimeOffset(ticks, TimeSpan.Zero);

    private static JobId? OptionalId(Guid value) => value == Guid.Empty ? null : new JobId(value);

    /// <summary>
    /// Sets a field of one of the shared parts: unchanged, nothing happens; changed, on this snapshot's own
    /// part (a shared one is copied first, once per snapshot being made).
    /// </summary>
    private static void Change<TPart, T>(ref TPart part, T current, T value, Action<TPart, T> set)
        where TPart : SharedPart
    {
        if (EqualityComparer<T>.Default.Equals(current, value))
        {
            return;
        }

        if (part.Shared)
        {
            part = (TPart)part.CopyUnshared();
        }

        set(part, value);
    }

    /// <summary>Fields that several snapshots of a job share: marked shared when a copy takes it, and never changed after.</summary>
    private abstract class SharedPart
    {
        public bool Shared;

        public SharedPart CopyUnshared()
        {
            var copy = (SharedPart)MemberwiseClone();
            copy.Shared = false;
            return copy;
        }
    }

    /// <summary>The fields an attempt's end sets.</summary>
    private sealed class Ended : SharedPart, IEquatable<Ended>
    {
        public static readonly Ended Defaults = new() { Shared = true };

        public string? Owner;
        public long StartedAt = NoTime;
        public JobProgress Progress = JobProgress.None;
        public string? Result;
        public JobError? Error;
        public IReadOnlyList<JobArtifact> Artifacts = [];
        public long CompletedAt = NoTime;

        public bool Equals(Ended? other) => other is not null && (ReferenceEquals(this, other)
            || (Owner == other.Owner && StartedAt == other.StartedAt && Equals(Progress, other.Progress)
                && Result == other.Result && Equals(Error, other.Error) && Equals(Artifacts, other.Artifacts) && CompletedAt == other.CompletedAt));

        public override bool Equals(object? obj) => Equals(obj as Ended);

        public override int GetHashCode() => HashCode.Combine(Owner, StartedAt, Result, Error, CompletedAt);
    }

    /// <summary>The fields a job gets at submit and seldom changes.</summary>
    private sealed class Submitted : SharedPart, IEquatable<Submitted>
    {
        public static readonly Submitted Defaults = new() { Shared = true };

        public string? Title;
        public IReadOnlyList<string> Tags = [];
        public IReadOnlyList<JobId> DependsOn = [];
        public DependencyFailureBehavior OnParentFailure;
        public string? IdempotencyKey;
        public long Timeout = NoTime;
        public string? TraceParent;
        public IReadOnlyList<JobAttemptError> AttemptErrors = [];
        public long CacheResultFor = NoTime;
        public JobRetryTiming? Retry;

        // Optional ids as their GUID (16 bytes; a nullable JobId takes 24), Guid.Empty for none (never a job's id).
        public Guid CachedFrom;
        public Guid RerunOf;
        public Guid BatchId;

        public bool Equals(Submitted? other) => other is not null && (ReferenceEquals(this, other) || (
            Title == other.Title && Equals(Tags, other.Tags) && Equals(DependsOn, other.DependsOn) && OnParentFailure == other.OnParentFailure
            && IdempotencyKey == other.IdempotencyKey && Timeout == other.Timeout && TraceParent == other.TraceParent
            && Equals(AttemptErrors, other.AttemptErrors) && CacheResultFor == other.CacheResultFor && Equals(Retry, other.Retry)
            && CachedFrom == other.CachedFrom && RerunOf == other.RerunOf && BatchId == other.BatchId));

        public override bool Equals(object? obj) => Equals(obj as Submitted);

        public override int GetHashCode() => HashCode.Combine(Title, Tags, DependsOn, IdempotencyKey, Timeout, TraceParent, BatchId);
    }
}
