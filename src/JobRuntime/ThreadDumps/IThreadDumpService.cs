namespace JobRuntime.ThreadDumps;

/// <summary>Captures thread dumps through the registered providers, falling through to the core provider.</summary>
public interface IThreadDumpService
{
    /// <summary>Captures a dump now. Never runs on the calling job's thread; captures do not overlap.</summary>
    /// <param name="jobId">The job the dump is about (its thread and async chain are marked), or <see langword="null"/>.</param>
    /// <param name="reason">Why, recorded in the dump.</param>
    /// <param name="cancellationToken">
    /// The capture's budget: a registered provider still capturing when it trips is abandoned and the
    /// core provider's dump (which is immediate) is returned, with a note saying so.
    /// </param>
    /// <returns>The dump of the first provider that could capture one; the core provider always can.</returns>
    Task<ThreadDump> CaptureAsync(JobId? jobId = null, string reason = "on demand", CancellationToken cancellationToken = default);
}
