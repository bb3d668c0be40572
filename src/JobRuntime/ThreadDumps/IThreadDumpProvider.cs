namespace JobRuntime.ThreadDumps;

/// <summary>
/// Captures a <see cref="ThreadDump"/>. Providers are tried in registration order; one that cannot
/// capture here throws <see cref="ThreadDumpUnavailableException"/> (or
/// <see cref="NotSupportedException"/>, <see cref="UnauthorizedAccessException"/>,
/// <see cref="TimeoutException"/>) and the next is tried.
/// </summary>
public interface IThreadDumpProvider
{
    /// <summary>The provider's name, recorded as <see cref="ThreadDump.Method"/>.</summary>
    string Name { get; }

    /// <summary>
    /// Whether the provider takes part in captures; one its options switch off (deep mode not
    /// chosen, say) is skipped without a note. Read at each capture.
    /// </summary>
    bool IsEnabled => true;

    /// <summary>Captures a dump. Called off the job's own thread.</summary>
    /// <param name="request">What to capture and what the runtime knows of its running jobs.</param>
    /// <param name="cancellationToken">Trips when the capture takes too long.</param>
    /// <returns>The dump.</returns>
    ValueTask<ThreadDump> CaptureAsync(ThreadDumpRequest request, CancellationToken cancellationToken);
}
