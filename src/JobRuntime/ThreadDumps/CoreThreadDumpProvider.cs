using System.Diagnostics;

namespace JobRuntime.ThreadDumps;

/// <summary>
/// The dependency-free provider: the runtime's registry of running jobs (managed and OS thread
/// ids, thread names), each job's async call chain read from its suspended task, and the overdue
/// jobs. It cannot read another thread's synchronous frames; JobRuntime.Diagnostics adds a
/// provider that can.
/// </summary>
internal sealed class CoreThreadDumpProvider(TimeProvider time) : IThreadDumpProvider
{
    public string Name => "core";

    public ValueTask<ThreadDump> CaptureAsync(ThreadDumpRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var capturedAt = time.GetUtcNow();
        var threads = new List<ThreadDumpThread>(request.RunningJobs.Count);
        IReadOnlyList<string> chain = [];
        foreach (var job in request.RunningJobs)
        {
            var jobChain = AsyncChain.Describe(job.RootTask);
            var isTarget = job.JobId == request.JobId;
            if (isTarget)
            {
                chain = jobChain;
            }

            // Innermost first, as a stack: the chain reversed, then where the thread entered the job.
            var frames = jobChain.Reverse().ToList();
            if (frames.Count == 0)
            {
                frames.Add(job.DedicatedThread
                    ? $"(running synchronously on its dedicated thread; frames need JobRuntime.Diagnostics) {job.Name}"
                    : $"(running synchronously; frames need JobRuntime.Diagnostics) {job.Name}");
            }

            threads.Add(new ThreadDumpThread
            {
                ManagedThreadId = job.ManagedThreadId,
                OsThreadId = job.OsThreadId,
                Name = job.ThreadName,
                JobId = job.JobId,
                IsJobThread = isTarget,
                Frames = frames,
            });
        }

        return ValueTask.FromResult(new ThreadDump
        {
            CapturedAt = capturedAt,
            Method = Name,
            CaptureDuration = Stopwatch.GetElapsedTime(started),
            Reason = request.Reason,
            JobId = request.JobId,
            Threads = threads,
            AsyncChain = chain,
            OverdueJobs = request.RunningJobs.Where(j => j.IsOverdue).Select(j => j.JobId).ToList(),
            Notes = ["Only threads running jobs are listed, with their async call chains; all-thread stacks need the JobRuntime.Diagnostics provider."],
        });
    }
}
