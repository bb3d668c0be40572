namespace JobRuntime.Storage;

/// <summary>The result of a fenced write.</summary>
/// <param name="Accepted">Whether the write was applied (the lease was still held).</param>
/// <param name="CancelledDependents">Dependents that the write cancelled because their parent did not complete.</param>
public sealed record JobWriteResult(bool Accepted, IReadOnlyList<JobId> CancelledDependents)
{
    /// <summary>A rejected write.</summary>
    public static JobWriteResult Rejected { get; } = new(false, []);

    /// <summary>An applied write that cancelled no dependents (shared: records are immutable).</summary>
    internal static JobWriteResult Applied { get; } = new(true, []);
}
