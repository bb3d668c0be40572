namespace JobRuntime;

/// <summary>A recurring job as it stands: its schedule, its state and its last run.</summary>
public sealed record RecurringJobInfo
{
    /// <summary>Its unique name.</summary>
    public required string Name { get; init; }

    /// <summary>The job type each occurrence runs.</summary>
    public required string JobType { get; init; }

    /// <summary>The cron expression.</summary>
    public required string Cron { get; init; }

    /// <summary>The time zone's id.</summary>
    public required string TimeZone { get; init; }

    /// <summary>Whether it is paused.</summary>
    public bool Paused { get; init; }

    /// <summary>Its next occurrence (while paused: the one it had when paused).</summary>
    public DateTimeOffset? NextFireAt { get; init; }

    /// <summary>The last occurrence recorded.</summary>
    public DateTimeOffset? LastFireAt { get; init; }

    /// <summary>The last job it made (an occurrence's or a trigger's).</summary>
    public JobId? LastJobId { get; init; }

    /// <summary>That job's status, when it still exists.</summary>
    public JobStatus? LastJobStatus { get; init; }

    /// <summary>What it does with missed occurrences.</summary>
    public MisfirePolicy Misfire { get; init; }

    /// <summary>What it does when its previous job has not finished.</summary>
    public OverlapPolicy Overlap { get; init; }
}
