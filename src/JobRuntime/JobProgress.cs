namespace JobRuntime;

/// <summary>How far a job has come.</summary>
/// <param name="Current">Units done so far.</param>
/// <param name="Total">Units in all; zero or less when unknown.</param>
/// <param name="Message">An optional human-readable message.</param>
/// <param name="Stage">The stage the job is in (for example "warmup" or "sampling"), if it set one.</param>
public sealed record JobProgress(long Current, long Total, string? Message = null, string? Stage = null)
{
    /// <summary>Progress of a job that has reported nothing yet.</summary>
    public static JobProgress None { get; } = new(0, 0);

    /// <summary>
    /// <see cref="Current"/> as a percentage of <see cref="Total"/>, clamped to 0–100;
    /// <see langword="null"/> when the total is unknown.
    /// </summary>
    public double? Percentage => Total > 0 ? Math.Clamp(100.0 * Current / Total, 0.0, 100.0) : null;
}
