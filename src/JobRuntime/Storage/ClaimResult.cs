namespace JobRuntime.Storage;

/// <summary>The result of <see cref="IJobStore.ClaimAsync"/>.</summary>
/// <param name="Jobs">The claimed jobs with their leases.</param>
/// <param name="NextDueAt">When the earliest delayed pending job becomes due, if any.</param>
public sealed record ClaimResult(IReadOnlyList<ClaimedJob> Jobs, DateTimeOffset? NextDueAt)
{
    /// <summary>A result with nothing claimed and nothing delayed.</summary>
    public static ClaimResult Empty { get; } = new([], null);
}
