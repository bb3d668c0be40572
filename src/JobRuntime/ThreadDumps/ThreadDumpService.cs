using JobRuntime.Telemetry;
using Microsoft.Extensions.Logging;

namespace JobRuntime.ThreadDumps;

/// <summary>
/// Tries the registered providers in order, then the core provider; one capture at a time. A
/// registered provider's all-thread capture is reused for <see cref="JobRuntimeOptions.ThreadDumpMinimumInterval"/>
/// (a burst of timeouts costs one capture), and each dump is completed with what the runtime knows:
/// which thread runs which job, the job's async call chain and the overdue jobs.
/// </summary>
internal sealed class ThreadDumpService : IThreadDumpService, IDisposable
{
    /// <summary>How long one provider may take before the next is tried (a heap dump of a large process on a busy machine takes seconds).</summary>
    private static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(30);

    private readonly IThreadDumpProvider[] _providers;
    private readonly RunningWorkItems _running;
    private readonly TimeProvider _time;
    private readonly TimeSpan _minimumInterval;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private (ThreadDump Dump, long Timestamp)? _last;

    public ThreadDumpService(IEnumerable<IThreadDumpProvider> providers, RunningWorkItems running, TimeProvider time, Microsoft.Extensions.Options.IOptions<JobRuntimeOptions>? options = null, ILoggerFactory? loggerFactory = null)
    {
        _providers = [.. providers, new CoreThreadDumpProvider(time)];
        _running = running;
        _time = time;
        _minimumInterval = options?.Value.ThreadDumpMinimumInterval ?? TimeSpan.FromSeconds(1);
        _logger = (loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger("JobRuntime.Diagnostics");
    }

    public Task<ThreadDump> CaptureAsync(JobId? jobId = null, string reason = "on demand", CancellationToken cancellationToken = default)
        => CaptureCoreAsync(jobId, reason, static () => { }, cancellationToken);

    public Task<ThreadDump> CaptureAsync(JobId? jobId, string reason, Action onSnapshotTaken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onSnapshotTaken);

        // Once, however many providers call it: the first call is the snapshot's moment.
        var called = 0;
        return CaptureCoreAsync(jobId, reason, () =>
        {
            if (Interlocked.Exchange(ref called, 1) == 0)
            {
                onSnapshotTaken();
            }
        }, cancellationToken);
    }

    private async Task<ThreadDump> CaptureCoreAsync(JobId? jobId, string reason, Action snapshotTaken, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);

        // Off the caller's thread: a job asking for its own dump must not be the thread inspected.
        await Task.Yield();
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var request = new ThreadDumpRequest(jobId, reason, RunningJobs()) { SnapshotTaken = snapshotTaken };

            // The job's async chain is read now, while it is suspended where it hangs: a provider's
            // snapshot may trip its token before the dump is completed.
            var chain = AsyncChain.Describe(request.RunningJobs.FirstOrDefault(j => j.JobId == jobId)?.RootTask);
            if (_last is { } last && _time.GetElapsedTime(last.Timestamp) < _minimumInterval)
            {
                var age = _time.GetElapsedTime(last.Timestamp);
                var reused = Complete(last.Dump, request, chain) with { CapturedAt = _time.GetUtcNow() - age };
                return reused with { Notes = [.. reused.Notes, $"reused the capture of {age.TotalMilliseconds:0} ms earlier (at most one capture per {_minimumInterval.TotalMilliseconds:0} ms)"] };
            }

            var skipped = new List<string>();
            for (int i = 0; i < _providers.Length - 1; i++)
            {
                var provider = _providers[i];
                if (!provider.IsEnabled)
                {
                    continue;
                }

                using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                limit.CancelAfter(DefaultLimit);
                try
                {
                    var started = _time.GetTimestamp();
                    var dump = await provider.CaptureAsync(request, limit.Token).ConfigureAwait(false);
                    _last = (dump, started);
                    dump = Complete(dump, request, chain);
                    return skipped.Count == 0 ? dump : dump with { Notes = [.. dump.Notes, .. skipped] };
                }
                catch (Exception ex) when (ex is ThreadDumpUnavailableException or NotSupportedException or UnauthorizedAccessException or TimeoutException or OperationCanceledException)
                {
                    // Expected: not available here, or out of time (the caller's budget or the limit).
                    var why = ex is OperationCanceledException ? "it did not finish within the capture budget" : ex.Message;
                    Log.ProviderUnavailable(_logger, provider.Name, why);
                    skipped.Add($"provider '{provider.Name}' was not available: {why}");
                }
                catch (Exception ex)
                {
                    // A provider's own failure must not cost the dump: the next one is tried.
                    Log.ProviderFailed(_logger, ex, provider.Name);
                    skipped.Add($"provider '{provider.Name}' failed: {ex.GetType().Name}: {ex.Message}");
                }
            }

            // The core provider only reads the runtime's own registry: it answers at once, even
            // when the caller's budget has run out (a timeout's dump must not be lost to a slow provider).
            var core = await _providers[^1].CaptureAsync(request, CancellationToken.None).ConfigureAwait(false);
            return skipped.Count == 0 ? core : core with { Notes = [.. core.Notes, .. skipped] };
        }
        finally
        {
            _oneAtATime.Release();
            snapshotTaken();
        }
    }

    /// <summary>
    /// Completes a provider's dump for one request: the threads running jobs get their job id and
    /// name (matched by OS thread id) and move to the front, the requested job's thread is marked,
    /// and the async chain and overdue jobs come from the runtime when the provider had none.
    /// </summary>
    internal static ThreadDump Complete(ThreadDump dump, ThreadDumpRequest request, IReadOnlyList<string> jobChain)
    {
        // A job on the thread pool that is suspended at an await is on no thread; one on a
        // dedicated thread blocks that thread while suspended.
        var onThread = new Dictionary<long, RunningJobInfo>();
        foreach (var job in request.RunningJobs)
        {
            if (job.OsThreadId != 0 && (job.RootTask is null || job.DedicatedThread))
            {
                onThread[job.OsThreadId] = job;
            }
        }

        var threads = dump.Threads.Select(thread =>
        {
            if (!onThread.TryGetValue(thread.OsThreadId, out var job))
            {
                return thread with { JobId = null, IsJobThread = false };
            }

            return thread with
            {
                JobId = job.JobId,
                IsJobThread = job.JobId == request.JobId,
                ManagedThreadId = thread.ManagedThreadId != 0 ? thread.ManagedThreadId : job.ManagedThreadId,
                Name = thread.Name ?? job.ThreadName,
            };
        })
            .OrderBy(t => t.IsJobThread ? 0 : t.JobId is null ? 2 : 1)
            .ThenBy(t => t.OsThreadId)
            .ToList();

        return dump with
        {
            Reason = request.Reason,
            JobId = request.JobId,
            Threads = threads,
            AsyncChain = dump.AsyncChain.Count > 0 && dump.JobId == request.JobId ? dump.AsyncChain : jobChain,
            OverdueJobs = request.RunningJobs.Where(j => j.IsOverdue).Select(j => j.JobId).ToList(),
        };
    }

    public void Dispose() => _oneAtATime.Dispose();

    /// <summary>Which thread runs which job now, read from the executor's registry.</summary>
    private List<RunningJobInfo> RunningJobs()
    {
        var now = _time.GetUtcNow();
        var jobs = new List<RunningJobInfo>(_running.Count);
        foreach (var item in _running.Items)
        {
            jobs.Add(new RunningJobInfo
            {
                JobId = item.JobId,
                Name = item.Name,
                ManagedThreadId = item.ManagedThreadId,
                OsThreadId = item.OsThreadId,
                ThreadName = item.ThreadName,
                StartedAt = item.StartedAt,
                Deadline = item.Deadline,
                IsOverdue = item.Deadline <= now,
                DedicatedThread = item.DedicatedThread,
                RootTask = item.RootTask,
            });
        }

        return jobs;
    }
}
