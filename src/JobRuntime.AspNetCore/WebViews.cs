using System.Text.Json;
using System.Text.Json.Serialization;

namespace JobRuntime.AspNetCore;

/// <summary>The JSON of the web API: camelCase, enums as names.</summary>
internal static class WebJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

/// <summary>A page of jobs as the list endpoint returns it.</summary>
/// <param name="Items">The jobs, newest first.</param>
/// <param name="NextCursor">The cursor for the next page (<c>?after=</c>), if there is one.</param>
internal sealed record JobListView(IReadOnlyList<JobView> Items, string? NextCursor);

/// <summary>A job event as the event streams send it.</summary>
internal sealed record JobEventView(
    long Sequence,
    string JobId,
    JobEventKind Kind,
    JobStatus Status,
    DateTimeOffset Timestamp,
    string? JobType,
    int Attempt,
    JobProgress? Progress,
    JobError? Error,
    string? Name,
    object? Data,
    bool IsTerminal)
{
    public static JobEventView From(JobEvent e) => new(e.Sequence, e.JobId.ToString(), e.Kind, e.Status, e.Timestamp, e.JobType, e.Attempt, e.Progress, e.Error, e.Name, e.Data, e.IsTerminal);
}

/// <summary>What a submit sends.</summary>
internal sealed record SubmitRequest(string? Type, JsonElement? Args, SubmitOptionsRequest? Options);

/// <summary>The options of a submit, as JSON.</summary>
internal sealed record SubmitOptionsRequest(
    string? Queue,
    int? Priority,
    TimeSpan? Delay,
    DateTimeOffset? RunAt,
    TimeSpan? Timeout,
    int? MaxAttempts,
    string? Title,
    IReadOnlyList<string>? Tags,
    IReadOnlyList<JobId>? DependsOn,
    DependencyFailureBehavior? OnParentFailure,
    string? IdempotencyKey,
    TimeSpan? CacheResultFor = null,
    RetryRequest? Retry = null)
{
    public JobSubmitOptions ToOptions() => new()
    {
        Queue = Queue,
        Priority = Priority ?? 0,
        Delay = Delay,
        RunAt = RunAt,
        Timeout = Timeout,
        MaxAttempts = MaxAttempts,
        Title = Title,
        Tags = Tags ?? [],
        DependsOn = DependsOn ?? [],
        OnParentFailure = OnParentFailure ?? DependencyFailureBehavior.Cancel,
        IdempotencyKey = IdempotencyKey,
        CacheResultFor = CacheResultFor,
        Retry = Retry is { } retry ? new JobRetryPolicy
        {
            Backoff = retry.Backoff ?? RetryBackoff.Exponential,
            Delay = retry.Delay ?? TimeSpan.FromSeconds(2),
            MaxDelay = retry.MaxDelay ?? TimeSpan.FromMinutes(10),
            Jitter = retry.Jitter ?? 0.2,
        } : null,
    };
}

/// <summary>A submit's own retry timing, as JSON (the defaults of <see cref="JobRetryPolicy"/> for what is left out).</summary>
internal sealed record RetryRequest(RetryBackoff? Backoff, TimeSpan? Delay, TimeSpan? MaxDelay, double? Jitter);

/// <summary>What a submit returns.</summary>
internal sealed record SubmitResponse(string Id);

/// <summary>What a batch submit sends: the jobs, each as a single submit would, and an optional continuation.</summary>
internal sealed record BatchSubmitRequest(string? Title, IReadOnlyList<SubmitRequest?>? Jobs, SubmitRequest? Continuation);

/// <summary>What a batch submit returns.</summary>
internal sealed record BatchSubmitResponse(string BatchId, IReadOnlyList<string> JobIds);
