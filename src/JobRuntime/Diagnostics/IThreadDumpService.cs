namespace JobRuntime.Diagnostics;

/// <summary>Captures thread dumps through the registered providers, falling through to the core provider.</summary>
public interface IThreadDumpService
{
    /// <summary>Captures a dump now. Never runs on the calling job's thread; captures do not overlap.</summary>
    /// <param name="jobId">The job the dump is about (its thread and async chain are marked), or <see langword="null"/>.</param>
    /// <param name="reason">Why, recorded in the dump.</param>
    /// <param name="cancellationToken">Cancels the capture.</param>
    /// <returns>The dump of the first provider that could capture one.</returns>
    Task<ThreadDump> CaptureAsync(JobId? jobId = null, string reason = "on demand", CancellationToken cancellationToken = default);
}
