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

    /// <summary>
    /// Captures a dump now, and calls <paramref name="onSnapshotTaken"/> once the threads' state is
    /// taken, before the capture is processed (see <see cref="ThreadDumpRequest.SnapshotTaken"/>).
    /// </summary>
    /// <param name="jobId">The job the dump is about, or <see langword="null"/>.</param>
    /// <param name="reason">Why, recorded in the dump.</param>
    /// <param name="onSnapshotTaken">Called once, as early as the provider can; at the latest when the dump is ready.</param>
    /// <param name="cancellationToken">The capture's budget.</param>
    /// <returns>The dump.</returns>
    async Task<ThreadDump> CaptureAsync(JobId? jobId, string reason, Action onSnapshotTaken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onSnapshotTaken);
        try
        {
            return await CaptureAsync(jobId, reason, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            onSnapshotTaken();
        }
    }
}
