namespace JobRuntime;

/// <summary>Helpers for <see cref="JobStatus"/>.</summary>
public static class JobStatusExtensions
{
    /// <summary>Whether the status is final: Completed, Failed, Cancelled or TimedOut.</summary>
    /// <param name="status">The status.</param>
    /// <returns><see langword="true"/> for a terminal status.</returns>
    public static bool IsTerminal(this JobStatus status) => status >= JobStatus.Completed;
}
