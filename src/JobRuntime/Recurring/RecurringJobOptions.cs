namespace JobRuntime;

/// <summary>What to do with occurrences missed while nothing could fire them (every node down, the schedule paused, a backlog).</summary>
public enum MisfirePolicy
{
    /// <summary>Run once for the missed occurrences (the latest of them), then keep to the schedule. The default.</summary>
    RunOnce = 0,

    /// <summary>Skip them: the next run is the next occurrence.</summary>
    Skip = 1,

    /// <summary>Run each missed occurrence, the latest <see cref="RecurringJobOptions.MaxMissedRuns"/> of them at most.</summary>
    RunEach = 2,
}

/// <summary>What to do when an occurrence comes while the schedule's previous job has not finished.</summary>
public enum OverlapPolicy
{
    /// <summary>Run it anyway, beside the previous one. The default.</summary>
    Allow = 0,

    /// <summary>Skip it.</summary>
    Skip = 1,

    /// <summary>Run it once the previous one has ended (whatever its outcome).</summary>
    Queue = 2,
}

/// <summary>How a recurring job runs: its time zone, its policies, and the options of each job it makes.</summary>
public sealed class RecurringJobOptions
{
    /// <summary>The time zone the cron expression is read in (daylight saving time changes handled as cron does).</summary>
    /// <value>Default: UTC.</value>
    public TimeZoneInfo TimeZone { get; set; } = TimeZoneInfo.Utc;

    /// <summary>
    /// The time zone by its id (IANA, such as <c>Europe/Berlin</c>, or Windows); when set, it is
    /// looked up at registration and replaces <see cref="TimeZone"/>. An id this machine does not know
    /// is refused with a message naming the recurring job.
    /// </summary>
    /// <value>Default: <see langword="null"/> (use <see cref="TimeZone"/>).</value>
    public string? TimeZoneId { get; set; }

    /// <summary>What to do with missed occurrences.</summary>
    /// <value>Default: <see cref="MisfirePolicy.RunOnce"/>.</value>
    public MisfirePolicy Misfire { get; set; } = MisfirePolicy.RunOnce;

    /// <summary>How late an occurrence may be fired and still count as on time (not missed).</summary>
    /// <value>Default: 1 minute.</value>
    public TimeSpan MisfireThreshold { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>With <see cref="MisfirePolicy.RunEach"/>, the most missed occurrences run (the latest ones).</summary>
    /// <value>Default: 10.</value>
    public int MaxMissedRuns { get; set; } = 10;

    /// <summary>What to do when the previous job has not finished.</summary>
    /// <value>Default: <see cref="OverlapPolicy.Allow"/>.</value>
    public OverlapPolicy Overlap { get; set; } = OverlapPolicy.Allow;

    /// <summary>The queue of each job; the handler's or the runtime's default when <see langword="null"/>.</summary>
    public string? Queue { get; set; }

    /// <summary>The priority of each job.</summary>
    /// <value>Default: 0.</value>
    public int Priority { get; set; }

    /// <summary>The time limit of each job; the handler's or the runtime's default when <see langword="null"/>.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>The most attempts of each job; the handler's or the runtime's default when <see langword="null"/>.</summary>
    public int? MaxAttempts { get; set; }

    /// <summary>The title of each job; the schedule's name and the occurrence when <see langword="null"/>.</summary>
    public string? Title { get; set; }

    /// <summary>Tags for each job, besides <c>schedule:&lt;name&gt;</c>, which every job of a schedule has.</summary>
    public IList<string> Tags { get; } = [];
}
