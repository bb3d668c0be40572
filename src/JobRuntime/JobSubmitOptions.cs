using JobRuntime.Storage;

namespace JobRuntime;

/// <summary>Per-submit options. Every property is optional; unset values take the handler's or the runtime's defaults.</summary>
public sealed record JobSubmitOptions
{
    /// <summary>The longest queue name or tag, in characters.</summary>
    public const int MaxNameLength = 200;

    /// <summary>The longest <see cref="IdempotencyKey"/>, in characters.</summary>
    public const int MaxKeyLength = 1000;

    /// <summary>The longest <see cref="Title"/>, in characters.</summary>
    public const int MaxTitleLength = 2000;

    /// <summary>The longest <see cref="Timeout"/>: 365 days. For no time limit leave it unset.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(365);

    /// <summary>
    /// The queue to run in: not blank, at most <see cref="MaxNameLength"/> characters, well-formed text.
    /// Default: the handler's queue, else <see cref="JobRuntimeOptions.DefaultQueue"/>.
    /// </summary>
    public string? Queue { get; init; }

    /// <summary>Higher runs first among ready jobs. Default: 0.</summary>
    public int Priority { get; init; }

    /// <summary>Run no sooner than this long after submission (not negative). Mutually exclusive with <see cref="RunAt"/>.</summary>
    public TimeSpan? Delay { get; init; }

    /// <summary>Run no sooner than this time. Mutually exclusive with <see cref="Delay"/>.</summary>
    public DateTimeOffset? RunAt { get; init; }

    /// <summary>The time limit of one attempt, positive and at most <see cref="MaxTimeout"/>. Default: the handler's, else <see cref="JobRuntimeOptions.DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The most attempts (1 = no retry). Default: the handler's, else <see cref="JobRuntimeOptions.DefaultMaxAttempts"/>.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>
    /// A key that makes the submit idempotent: while a job submitted with the same key has not
    /// finished, submitting again returns that job instead of creating a new one. Not blank, at most
    /// <see cref="MaxKeyLength"/> characters of well-formed text.
    /// </summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>
    /// Reuse a result: when a job of the same type submitted with the same <see cref="IdempotencyKey"/>
    /// completed within this time, the submit makes a job that is already completed with that result
    /// (<see cref="JobSnapshot.CachedFrom"/> names the job it came from) instead of running again. The
    /// store decides, as for the key. Needs an <see cref="IdempotencyKey"/>; positive, at most
    /// <see cref="MaxTimeout"/>.
    /// </summary>
    public TimeSpan? CacheResultFor { get; init; }

    /// <summary>
    /// This job's retry timing instead of its handler's (back-off, delays, jitter; kept with the job). Which
    /// exceptions are retried stays the handler's: a policy with <c>Handle</c> filters is refused here.
    /// </summary>
    /// <example><c>new JobSubmitOptions { MaxAttempts = 8, Retry = new JobRetryPolicy { Backoff = RetryBackoff.Fixed, Delay = TimeSpan.FromSeconds(5) } }</c></example>
    public JobRetryPolicy? Retry { get; init; }

    /// <summary>Jobs that must complete before this one starts; their results are visible to the handler.</summary>
    public IReadOnlyList<JobId> DependsOn { get; init; } = [];

    /// <summary>What happens when a parent does not complete. Default: the job is cancelled.</summary>
    public DependencyFailureBehavior OnParentFailure { get; init; }

    /// <summary>A human-readable title: at most <see cref="MaxTitleLength"/> characters of well-formed text (no NUL character, no unpaired surrogate).</summary>
    public string? Title { get; init; }

    /// <summary>Free-form tags, each like a queue name: not blank, at most <see cref="MaxNameLength"/> characters of well-formed text.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Every problem with these options, or none; the same checks a submit makes before anything is stored.</summary>
    /// <param name="timeProvider">The clock that <see cref="Delay"/> counts from; the system clock when <see langword="null"/>.</param>
    /// <returns>One sentence per problem, naming the option; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate(TimeProvider? timeProvider = null)
        => Errors((timeProvider ?? TimeProvider.System).GetUtcNow()) ?? (IReadOnlyList<string>)[];

    /// <summary>The problems, or <see langword="null"/> (a valid submit allocates nothing here).</summary>
    internal List<string>? Errors(DateTimeOffset now)
    {
        List<string>? errors = null;
        if (Delay is not null && RunAt is not null)
        {
            (errors ??= []).Add("Set Delay or RunAt, not both.");
        }

        if (Delay < TimeSpan.Zero)
        {
            (errors ??= []).Add($"Delay must not be negative (was {Delay}).");
        }
        else if (Delay > DateTimeOffset.MaxValue - now)
        {
            (errors ??= []).Add($"Delay puts the run time past the end of the calendar (was {Delay}); use a shorter delay or RunAt.");
        }

        if (Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > MaxTimeout))
        {
            (errors ??= []).Add($"Timeout must be positive and at most {MaxTimeout.TotalDays:0} days (was {timeout}); leave it unset for no timeout.");
        }

        if (MaxAttempts is < 1)
        {
            (errors ??= []).Add($"MaxAttempts must be at least 1 (was {MaxAttempts}).");
        }

        CheckName(ref errors, Queue, nameof(Queue), MaxNameLength);
        CheckName(ref errors, IdempotencyKey, nameof(IdempotencyKey), MaxKeyLength);
        if (Title is { } title && (title.Length > MaxTitleLength || !JobStoreText.IsWellFormed(title)))
        {
            (errors ??= []).Add($"Title must be at most {MaxTitleLength} characters of well-formed text (no NUL character, no unpaired surrogate).");
        }

        foreach (var tag in Tags)
        {
            if (tag is null)
            {
                (errors ??= []).Add("Tags must not contain null.");
            }
            else
            {
                CheckName(ref errors, tag, "Each tag", MaxNameLength);
            }
        }

        if (CacheResultFor is { } window)
        {
            if (window <= TimeSpan.Zero || window > MaxTimeout)
            {
                (errors ??= []).Add($"CacheResultFor must be positive and at most {MaxTimeout.TotalDays:0} days (was {window}).");
            }

            if (IdempotencyKey is null)
            {
                (errors ??= []).Add("CacheResultFor needs an IdempotencyKey: the key says which results may be reused.");
            }
        }

        if (Retry is { } retry)
        {
            foreach (var problem in retry.Validate())
            {
                (errors ??= []).Add(problem);
            }

            if (!retry.RetriesEverything)
            {
                (errors ??= []).Add("Retry of a submit sets the timing only: which exceptions are retried is the handler's (Handle on JobHandlerOptions.Retry).");
            }
        }

        if (DependsOn.Count > 1 && DependsOn.Distinct().Count() != DependsOn.Count)
        {
            (errors ??= []).Add("DependsOn lists a job more than once.");
        }

        return errors;
    }

    private static void CheckName(ref List<string>? errors, string? name, string field, int maxLength)
    {
        if (name is null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            (errors ??= []).Add($"{field} must not be blank.");
        }
        else if (name.Length > maxLength)
        {
            (errors ??= []).Add($"{field} must be at most {maxLength} characters (was {name.Length}).");
        }
        else if (!JobStoreText.IsWellFormed(name))
        {
            (errors ??= []).Add($"{field} must be well-formed text: no NUL character and no unpaired surrogate.");
        }
    }
}
