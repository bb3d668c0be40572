using System.Globalization;
using System.Text;

namespace JobRuntime.ThreadDumps;

/// <summary>
/// Where threads and jobs were at one moment: what a provider could see of each thread's stack,
/// the job's async call chain, and which jobs were overdue. JSON-serializable; <see cref="ToText"/>
/// gives a readable form like Python's faulthandler.
/// </summary>
public sealed record ThreadDump
{
    /// <summary>When the capture started.</summary>
    public required DateTimeOffset CapturedAt { get; init; }

    /// <summary>The provider that made it (for example "core" or "eventpipe").</summary>
    public required string Method { get; init; }

    /// <summary>How long the capture took.</summary>
    public TimeSpan CaptureDuration { get; init; }

    /// <summary>Why it was taken ("timeout", "stall", "on demand", "SIGQUIT").</summary>
    public required string Reason { get; init; }

    /// <summary>The job the dump is about, if any.</summary>
    public JobId? JobId { get; init; }

    /// <summary>The threads, the job's thread marked with <see cref="ThreadDumpThread.IsJobThread"/>.</summary>
    public IReadOnlyList<ThreadDumpThread> Threads { get; init; } = [];

    /// <summary>The job's async call chain, outermost method first, each with what it awaits.</summary>
    public IReadOnlyList<string> AsyncChain { get; init; } = [];

    /// <summary>
    /// Every pending async call chain in the process, outermost method first (deep captures only;
    /// empty otherwise).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> PendingAsyncChains { get; init; } = [];

    /// <summary>Running jobs past their deadline at the time of the capture.</summary>
    public IReadOnlyList<JobId> OverdueJobs { get; init; } = [];

    /// <summary>What the provider could not see, and why (for example other threads' frames without JobRuntime.Diagnostics).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>A one-line summary for events and log titles.</summary>
    public string Summary
    {
        get
        {
            var job = Threads.FirstOrDefault(t => t.IsJobThread);
            // The innermost async method, not the task it awaits.
            // On the job's thread: the innermost frame of the application's own code, not the BCL wait it sits in.
            var where = AsyncChain.LastOrDefault(step => !step.StartsWith("awaiting ", StringComparison.Ordinal))
                ?? job?.Frames.FirstOrDefault(f => !f.StartsWith("System.", StringComparison.Ordinal) && !f.StartsWith('['))
                ?? job?.Frames.FirstOrDefault();
            return $"{Reason}: {Threads.Count} thread(s) via {Method} in {CaptureDuration.TotalMilliseconds:0.#} ms" + (where is null ? "" : $"; job at {where}");
        }
    }

    /// <summary>The dump as text: each thread with its frames, the job's thread and chain marked.</summary>
    /// <returns>The text.</returns>
    public string ToText()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Thread dump ({Reason}) at {CapturedAt:O} via {Method}, {CaptureDuration.TotalMilliseconds:0.#} ms").AppendLine();
        foreach (var thread in Threads)
        {
            text.AppendLine();
            var managed = thread.ManagedThreadId == 0 ? "?" : thread.ManagedThreadId.ToString(CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"Thread {managed} (os {thread.OsThreadId}) \"{thread.Name ?? "unnamed"}\"");
            if (thread.JobId is { } jobId)
            {
                text.Append(CultureInfo.InvariantCulture, $" running job {jobId}");
            }

            if (thread.IsJobThread)
            {
                text.Append(CultureInfo.InvariantCulture, $"  <<< job {JobId} {Reason}");
            }

            text.AppendLine();
            foreach (var frame in thread.Frames)
            {
                text.Append("  at ").AppendLine(frame);
            }
        }

        if (AsyncChain.Count > 0)
        {
            text.AppendLine().Append(CultureInfo.InvariantCulture, $"Async call chain of job {JobId} (outermost first):").AppendLine();
            foreach (var step in AsyncChain)
            {
                text.Append("  ").AppendLine(step);
            }
        }

        if (PendingAsyncChains.Count > 0)
        {
            text.AppendLine().Append(CultureInfo.InvariantCulture, $"Pending async call chains ({PendingAsyncChains.Count}, outermost first):").AppendLine();
            foreach (var pending in PendingAsyncChains)
            {
                text.Append("  ").AppendLine(string.Join(" -> ", pending));
            }
        }

        if (OverdueJobs.Count > 0)
        {
            text.AppendLine().Append("Overdue jobs: ").AppendLine(string.Join(", ", OverdueJobs));
        }

        foreach (var note in Notes)
        {
            text.AppendLine().Append("Note: ").Append(note);
        }

        return text.ToString();
    }
}
