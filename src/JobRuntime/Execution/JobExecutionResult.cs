namespace JobRuntime;

/// <summary>How a work item ended.</summary>
/// <param name="Status">The outcome.</param>
public sealed record JobExecutionResult(JobExecutionStatus Status)
{
    /// <summary>The value the work returned, when it succeeded.</summary>
    public object? Value { get; init; }

    /// <summary>The exception it ended with, if any.</summary>
    public Exception? Exception { get; init; }

    /// <summary>
    /// Whether the work ignored cancellation past the grace period and was abandoned: its slot was
    /// released, and whatever it does later is discarded.
    /// </summary>
    public bool Abandoned { get; init; }

    /// <summary>When the work started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>How long it ran (until it ended or was abandoned).</summary>
    public TimeSpan Duration { get; init; }
}
