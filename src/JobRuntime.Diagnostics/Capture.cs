using System.Diagnostics;

using JobRuntime.ThreadDumps;

namespace JobRuntime.Diagnostics;

/// <summary>One capture in progress: when it started, and the dump it makes with its duration.</summary>
internal readonly struct Capture(TimeProvider time)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _at = time.GetUtcNow();

    /// <summary>The dump; the threads busy with this capture (the diagnostics client, the trace or dump reader) are left out.</summary>
    public ThreadDump Dump(string method, ThreadDumpRequest request, IReadOnlyList<ThreadDumpThread> threads, IReadOnlyList<IReadOnlyList<string>>? pendingAsyncChains = null)
    {
        // A thread running a job is always shown, whatever its code.
        var jobThreads = request.RunningJobs.Select(j => j.OsThreadId).Where(id => id != 0).ToHashSet();
        var shown = threads.Where(t => jobThreads.Contains(t.OsThreadId) || !IsCaptureThread(t)).ToList();
        var left = threads.Count - shown.Count;
        return new()
        {
            CapturedAt = _at,
            Method = method,
            CaptureDuration = Stopwatch.GetElapsedTime(_started),
            Reason = request.Reason,
            JobId = request.JobId,
            Threads = shown,
            PendingAsyncChains = pendingAsyncChains ?? [],
            Notes = left == 0 ? [] : [$"left out {left} thread(s) busy with this capture"],
        };
    }

    /// <summary>The code of a capture: the diagnostics client, TraceEvent, ClrMD, and this package's providers.</summary>
    private static readonly string[] CaptureCode =
    [
        "Microsoft.Diagnostics.NETCore.Client.",
        "Microsoft.Diagnostics.Tracing.",
        "Microsoft.Diagnostics.Runtime.",
        "JobRuntime.Diagnostics.EventPipeThreadDumpProvider",
        "JobRuntime.Diagnostics.HeapDumpThreadDumpProvider",
    ];

    /// <summary>A thread running a capture's own code.</summary>
    internal static bool IsCaptureThread(ThreadDumpThread thread)
        => thread.Frames.Any(static f => CaptureCode.Any(code => f.StartsWith(code, StringComparison.Ordinal)));
}
