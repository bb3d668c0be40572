using System.Text.Json;
using Cronos;

namespace JobRuntime;

/// <summary>
/// What the store keeps of a recurring job as its opaque definition (JSON): the job type and its
/// arguments, the cron expression and time zone, the policies and the jobs' options.
/// </summary>
internal sealed record ScheduleDefinition
{
    public required string JobType { get; init; }

    public required string Cron { get; init; }

    public required string TimeZone { get; init; }

    public required string Payload { get; init; }

    public MisfirePolicy Misfire { get; init; }

    public TimeSpan MisfireThreshold { get; init; }

    public int MaxMissedRuns { get; init; }

    public OverlapPolicy Overlap { get; init; }

    public string? Queue { get; init; }

    public int Priority { get; init; }

    public TimeSpan? Timeout { get; init; }

    public int? MaxAttempts { get; init; }

    public string? Title { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Checks a recurring job's definition; every problem at once, in a message that names it.</summary>
    /// <exception cref="ArgumentException">Something is invalid; nothing is stored.</exception>
    public static (ScheduleDefinition Definition, CronExpression Expression) Create(string name, string jobType, string cron, string payload, RecurringJobOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(name) || name.Length > JobSubmitOptions.MaxNameLength || !Storage.JobStoreText.IsWellFormed(name))
        {
            problems.Add($"the name must be a non-blank name of at most {JobSubmitOptions.MaxNameLength} characters of well-formed text");
        }

        CronExpression? expression = null;
        try
        {
            expression = Parse(cron);
        }
        catch (CronFormatException ex)
        {
            problems.Add($"the cron expression \"{cron}\" is invalid: {ex.Message}");
        }

        var zone = options.TimeZone;
        if (options.TimeZoneId is { } id)
        {
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                problems.Add($"the time zone \"{id}\" is not known on this machine ({ex.Message})");
            }
        }

        if (zone is null)
        {
            problems.Add("TimeZone must be set");
        }

        if (options.MisfireThreshold <= TimeSpan.Zero)
        {
            problems.Add($"MisfireThreshold must be positive (was {options.MisfireThreshold})");
        }

        if (options.MaxMissedRuns < 1)
        {
            problems.Add($"MaxMissedRuns must be at least 1 (was {options.MaxMissedRuns})");
        }

        if (options.MaxAttempts is < 1)
        {
            problems.Add($"MaxAttempts must be at least 1 (was {options.MaxAttempts})");
        }

        if (options.Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > JobSubmitOptions.MaxTimeout))
        {
            problems.Add($"Timeout must be positive and at most {JobSubmitOptions.MaxTimeout.TotalDays:0} days (was {timeout})");
        }

        if (options.Queue is { } queue && (string.IsNullOrWhiteSpace(queue) || queue.Length > JobSubmitOptions.MaxNameLength))
        {
            problems.Add($"Queue must be a non-blank name of at most {JobSubmitOptions.MaxNameLength} characters");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException($"Recurring job '{name}': " + string.Join("; ", problems) + ".", nameof(cron));
        }

        var definition = new ScheduleDefinition
        {
            JobType = jobType,
            Cron = cron.Trim(),
            TimeZone = zone!.Id,
            Payload = payload,
            Misfire = options.Misfire,
            MisfireThreshold = options.MisfireThreshold,
            MaxMissedRuns = options.MaxMissedRuns,
            Overlap = options.Overlap,
            Queue = options.Queue,
            Priority = options.Priority,
            Timeout = options.Timeout,
            MaxAttempts = options.MaxAttempts,
            Title = options.Title,
            Tags = [.. options.Tags],
        };
        return (definition, expression!);
    }

    /// <summary>A 5-field expression, or 6 with seconds first.</summary>
    public static CronExpression Parse(string cron)
    {
        ArgumentNullException.ThrowIfNull(cron);
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        return CronExpression.Parse(cron.Trim(), fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonSerializerOptions.Web);

    public static ScheduleDefinition FromJson(string json)
        => JsonSerializer.Deserialize<ScheduleDefinition>(json, JsonSerializerOptions.Web) ?? throw new InvalidOperationException("A stored schedule has no definition.");

    public TimeZoneInfo Zone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    /// <summary>The first occurrence after <paramref name="from"/>.</summary>
    public DateTimeOffset? NextAfter(CronExpression expression, DateTimeOffset from) => expression.GetNextOccurrence(from, Zone());

    /// <summary>The options of one occurrence's job.</summary>
    public JobSubmitOptions JobOptions(string name, DateTimeOffset? fireAt, IReadOnlyList<JobId> dependsOn) => new()
    {
        Queue = Queue,
        Priority = Priority,
        Timeout = Timeout,
        MaxAttempts = MaxAttempts,
        Title = Title ?? (fireAt is { } at ? $"{name} at {at:u}" : $"{name} (triggered)"),
        Tags = [$"schedule:{name}", .. fireAt is { } fired ? new[] { $"fire:{fired.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}" } : [], .. Tags],
        DependsOn = dependsOn,
        OnParentFailure = DependencyFailureBehavior.Run,
    };
}
