using System.Diagnostics;

using JobRuntime.ThreadDumps;

namespace JobRuntime.Diagnostics;

/// <summary>One capture in progress: when it started, and the dump it makes with its duration.</summary>
internal readonly struct Capture(TimeProvider time)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _at = time.GetUtcNow();

    public ThreadDump Dump(string method, ThreadDumpRequest request, IReadOnlyList<ThreadDumpThread> threads, IReadOnlyList<IReadOnlyList<string>>? pendingAsyncChains = null) => new()
    {
        CapturedAt = _at,
        Method = method,
        CaptureDuration = Stopwatch.GetElapsedTime(_started),
        Reason = request.Reason,
        JobId = request.JobId,
        Threads = threads,
        PendingAsyncChains = pendingAsyncChains ?? [],
    };
}
