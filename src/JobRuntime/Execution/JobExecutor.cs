using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace JobRuntime.Execution;

/// <summary>The default <see cref="IJobExecutor"/>: semaphores for the global and per-queue limits, one watchdog for all deadlines.</summary>
internal sealed partial class JobExecutor : IJobExecutor, IAsyncDisposable, IDisposable
{
    /// <summary>The least time a thread dump at a deadline may take before the core provider answers instead.</summary>
    private static readonly TimeSpan MinimumCaptureBudget = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _global;
    private readonly Dictionary<string, SemaphoreSlim> _queues;
    private readonly ConcurrentDictionary<JobId, RunningItem> _running = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _grace;
    private readonly Watchdog _watchdog;
    private readonly AsyncSignal _slotFreed = new();
    private long _abandoned;
    private volatile bool _disposed;

    public JobExecutor(IOptions<JobRuntimeOptions> options, TimeProvider time)
    {
        var o = options.Value;
        MaxConcurrency = o.MaxConcurrency;
        _global = new SemaphoreSlim(o.MaxConcurrency, o.MaxConcurrency);
        _queues = o.QueueConcurrency.ToDictionary(kv => kv.Key, kv => new SemaphoreSlim(kv.Value, kv.Value), StringComparer.Ordinal);
        _time = time;
        _grace = o.CancellationGracePeriod;
        _watchdog = new Watchdog(time, _grace, OnDeadline, Abandon);
    }

    public int MaxConcurrency { get; }

    public int RunningCount => _running.Count;

    public long AbandonedCount => Interlocked.Read(ref _abandoned);

    /// <summary>Free global slots now.</summary>
    internal int AvailableSlots => _global.CurrentCount;

    /// <summary>Set whenever a slot is released.</summary>
    internal AsyncSignal SlotFreed => _slotFreed;

    /// <summary>Raised when an item is abandoned (after the grace period).</summary>
    internal event Action<RunningItem>? ItemAbandoned;

    /// <summary>Free slots of each limited queue now.</summary>
    internal IReadOnlyDictionary<string, int>? QueueAvailability()
        => _queues.Count == 0 ? null : _queues.ToDictionary(kv => kv.Key, kv => kv.Value.CurrentCount, StringComparer.Ordinal);

    public async Task<JobExecutionResult> ExecuteAsync(JobExecutionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        SemaphoreSlim? queue = null;
        if (request.Queue is not null && _queues.TryGetValue(request.Queue, out var q))
        {
            queue = q;
            await queue.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await _global.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            queue?.Release();
            throw;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // Cancelled as the slot came free: the work never starts.
            ReleaseSlots(request.Queue);
            cancellationToken.ThrowIfCancellationRequested();
        }

        var item = new RequestItem(request);
        StartAcquired(item, cancellationToken);
        return await item.Outcome.ConfigureAwait(false);
    }

    /// <summary>
    /// Starts an item for which the caller already took the slots with <see cref="TryAcquire"/>.
    /// Its outcome arrives through <see cref="RunningItem.OnFinished"/> and <see cref="RunningItem.Outcome"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">An item with the same id is running (its slots are released; the item never starts).</exception>
    internal void StartAcquired(RunningItem item, CancellationToken cancellationToken)
    {
        item.Begin(this, _time.GetUtcNow(), _time.GetTimestamp());
        if (!_running.TryAdd(item.JobId, item))
        {
            ReleaseSlots(item.Queue);
            throw new InvalidOperationException($"An item with id {item.JobId} is already running.");
        }

        if (_disposed)
        {
            item.Stop(JobStopReason.Shutdown);
        }

        if (item.Timeout is { } timeout)
        {
            item.Deadline = item.StartedAt + timeout;
            _watchdog.AddTimeout(item, item.Deadline.Value);
        }

        if (cancellationToken.CanBeCanceled)
        {
            item.LinkCallerToken(cancellationToken);
        }

        if (item.DedicatedThread)
        {
            var thread = new Thread(static s => RunOnDedicatedThread((RunningItem)s!))
            {
                IsBackground = true,
                Name = $"JobRuntime {item.Name} {item.JobId}",
            };
            thread.Start(item);
        }
        else
        {
            // The item is its own work item: nothing else is allocated to queue it.
            ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
            ArmBlockingScan();
        }
    }

    /// <summary>Takes a global slot and, if the queue is limited, a queue slot, without waiting.</summary>
    internal bool TryAcquire(string? queue)
    {
        SemaphoreSlim? q = null;
        if (queue is not null && _queues.TryGetValue(queue, out q) && !q.Wait(0))
        {
            return false;
        }

        if (_global.Wait(0))
        {
            return true;
        }

        q?.Release();
        return false;
    }

    public bool TryStop(JobId jobId, JobStopReason reason)
    {
        if (reason == JobStopReason.None)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "A stop needs a reason.");
        }

        if (!_running.TryGetValue(jobId, out var item) || !item.Claim(reason))
        {
            return false;
        }

        // Trip the token on the thread pool, not on the caller's thread: cancellation callbacks and
        // continuations that complete inline would otherwise run the job's code on the thread that
        // called CancelAsync (a UI thread, say) until the job's next await.
        ThreadPool.UnsafeQueueUserWorkItem(static i => i.Trip(), item, preferLocal: false);
        return true;
    }

    public bool IsRunning(JobId jobId) => _running.ContainsKey(jobId);

    /// <summary>The registry of running items, for thread dumps.</summary>
    internal IReadOnlyList<Diagnostics.RunningJobInfo> RunningJobs()
    {
        var now = _time.GetUtcNow();
        return _running.Values.Select(item => new Diagnostics.RunningJobInfo
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
        }).ToList();
    }

    /// <summary>
    /// Stops every running item with <paramref name="reason"/>, waits until they end or the grace
    /// period passes, then abandons the rest. Never waits longer than the grace period.
    /// </summary>
    internal async Task StopAllAsync(JobStopReason reason)
    {
        var items = _running.Values.ToArray();
        foreach (var item in items)
        {
            item.Stop(reason);
            _watchdog.AddAbandon(item, _time.GetUtcNow() + _grace);
        }

        await Task.WhenAll(items.Select(i => i.Outcome)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopAllAsync(JobStopReason.Shutdown).ConfigureAwait(false);
        _monitorWake.Set();
        _watchdog.Dispose();
        _slotFreed.Dispose();
    }

    public void Dispose()
    {
        // Bounded by the grace period: items that ignore cancellation are abandoned.
        DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Runs an item's work on a thread-pool thread and records how it ended.</summary>
    internal static async Task RunAsync(RunningItem item)
    {
        item.RecordThread();
        try
        {
            object? value;
            Task<object?>? suspended;
            item.EnterPoolThread();
            try
            {
                value = Begin(item, out suspended);
            }
            finally
            {
                item.LeavePoolThread();
            }

            if (suspended is not null)
            {
                value = await suspended.ConfigureAwait(false);
            }

            Succeed(item, value);
        }
        catch (Exception ex)
        {
            Fail(item, ex);
        }
    }

    private static void RunOnDedicatedThread(RunningItem item)
    {
        item.RecordThread();
        try
        {
            var value = Begin(item, out var suspended);
            if (suspended is not null)
            {
                value = suspended.GetAwaiter().GetResult();
            }

            Succeed(item, value);
        }
        catch (Exception ex)
        {
            Fail(item, ex);
        }
    }

    /// <summary>
    /// Runs the work up to its first suspension. Returns its value if it finished; otherwise gives
    /// the task it suspended on, kept on the item so that a thread dump can read its async chain.
    /// </summary>
    private static object? Begin(RunningItem item, out Task<object?>? suspended)
    {
        var pending = item.RunWorkAsync(item.Token);
        if (pending.IsCompleted)
        {
            suspended = null;
            return pending.Result;
        }

        suspended = pending.AsTask();
        item.RootTask = suspended;
        return null;
    }

    private static void Succeed(RunningItem item, object? value)
    {
        // A timed-out item that returns within the grace period still ends TimedOut: its deadline passed.
        var status = item.StopReason == JobStopReason.TimedOut ? JobExecutionStatus.TimedOut : JobExecutionStatus.Succeeded;
        item.TryFinish(new JobExecutionResult(status) { Value = value, StartedAt = item.StartedAt, Duration = Elapsed(item) });
    }

    private static void Fail(RunningItem item, Exception ex)
    {
        var stopped = item.StopReason != JobStopReason.None && ex is OperationCanceledException && item.Token.IsCancellationRequested;
        var status = stopped ? item.StatusForStop() : JobExecutionStatus.Faulted;
        item.TryFinish(new JobExecutionResult(status) { Exception = ex, StartedAt = item.StartedAt, Duration = Elapsed(item) });
    }

    private static TimeSpan Elapsed(RunningItem item) => Stopwatch.GetElapsedTime(item.StartTimestamp);

    private void OnDeadline(RunningItem item)
    {
        // The reason is recorded at once, so that an abandonment or a late return during the
        // capture below still ends TimedOut; the token trips after the capture.
        if (!item.Claim(JobStopReason.TimedOut))
        {
            return;
        }

        if (!item.CapturesAtTimeout)
        {
            item.Trip();
            return;
        }

        // Off the watchdog's timer thread, and never on the item's own thread.
        item.TimeoutCapture = Task.Run(async () =>
        {
            // The capture's budget: the grace period, but at least MinimumCaptureBudget, so that an
            // all-thread provider's first capture (slower while its code compiles) is not cut short.
            using var limit = new CancellationTokenSource(_grace > MinimumCaptureBudget ? _grace : MinimumCaptureBudget, _time);
            try
            {
                await item.CaptureAtTimeoutAsync(limit.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Diagnostics must never keep a timed-out item from being stopped.
            }
            finally
            {
                item.Trip();
            }
        });
    }

    private void Abandon(RunningItem item)
    {
        // The timeout's dump is still being captured (slower than the grace period on a busy
        // machine): abandon once it is done, so that the job's record keeps it.
        if (item.TimeoutCapture is { IsCompleted: false } capture)
        {
            _ = capture.ContinueWith(
                static (_, s) =>
                {
                    var (executor, waiting) = ((JobExecutor, RunningItem))s!;
                    executor.Abandon(waiting);
                },
                (this, item),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return;
        }

        var abandoned = new JobExecutionResult(item.StatusForStop())
        {
            Abandoned = true,
            StartedAt = item.StartedAt,
            Duration = Elapsed(item),
            Exception = new TimeoutException($"'{item.Name}' ({item.JobId}) ignored cancellation for {_grace} and was abandoned."),
        };
        // Counted before the outcome is published (its watchers may read the count at once), and
        // taken back if the work finished first.
        Interlocked.Increment(ref _abandoned);
        if (!item.TryFinish(abandoned))
        {
            Interlocked.Decrement(ref _abandoned);
            return;
        }

        item.CompensateIfHoldingPoolThread();
        ItemAbandoned?.Invoke(item);
    }

    /// <summary>Frees a finished item's slots (called once, by <see cref="RunningItem.TryFinish"/>).</summary>
    internal void Release(RunningItem item)
    {
        _running.TryRemove(new KeyValuePair<JobId, RunningItem>(item.JobId, item));
        ReleaseSlots(item.Queue);

        // The token source is disposed only when the work itself ended; an abandoned item may still hold its token.
        if (item.Result is { Abandoned: false })
        {
            item.DisposeToken();
        }
    }

    /// <summary>Frees the slots of an item that never started (taken with <see cref="TryAcquire"/>).</summary>
    internal void ReleaseSlots(string? queue)
    {
        _global.Release();
        if (queue is not null && _queues.TryGetValue(queue, out var q))
        {
            q.Release();
        }

        _slotFreed.Set();
    }
}
