using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace JobRuntime;

/// <summary>The default <see cref="IJobExecutor"/>: semaphores for the global and per-queue limits, one watchdog for all deadlines.</summary>
internal sealed partial class JobExecutor : IJobExecutor, IAsyncDisposable, IDisposable
{
    /// <summary>The least time a thread dump at a deadline may take before the core provider answers instead.</summary>
    private static readonly TimeSpan MinimumCaptureBudget = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _global;
    private readonly Dictionary<string, SemaphoreSlim> _queues;
    private readonly RunningWorkItems _running;
    private readonly TimeProvider _time;
    private readonly TimeSpan _grace;
    private readonly Watchdog _watchdog;
    private long _abandoned;
    private volatile bool _disposed;

    public JobExecutor(IOptions<JobRuntimeOptions> options, TimeProvider time, RunningWorkItems? running = null)
    {
        var o = options.Value;
        _running = running ?? new RunningWorkItems();
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

    public int AvailableSlots => _global.CurrentCount;

    public event Action? SlotFreed;

    public IReadOnlyDictionary<string, int>? GetQueueAvailability()
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
            FreeSlots(request.Queue);
            cancellationToken.ThrowIfCancellationRequested();
        }

        var item = new RequestItem(request);
        StartAcquired(item, cancellationToken);
        return await item.Outcome.ConfigureAwait(false);
    }

    public bool TryStart(JobWorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!TryAcquire(item.Queue))
        {
            return false;
        }

        StartAcquired(item, CancellationToken.None);
        return true;
    }

    /// <summary>
    /// Starts an item for which the slots were already taken.
    /// Its outcome arrives through <see cref="JobWorkItem.OnFinished"/> and <see cref="JobWorkItem.Outcome"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">An item with the same id is running, or the item ran before (its slots are released; the item never starts).</exception>
    private void StartAcquired(JobWorkItem item, CancellationToken cancellationToken)
    {
        if (!item.TryBind(this, _time.GetUtcNow(), _time.GetTimestamp()))
        {
            FreeSlots(item.Queue);
            throw new InvalidOperationException($"Work item {item.JobId} ({item.Name}) was started before; an item runs once.");
        }

        if (!_running.TryAdd(item))
        {
            FreeSlots(item.Queue);
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
            var thread = new Thread(static s => RunOnDedicatedThread((JobWorkItem)s!))
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
    private bool TryAcquire(string? queue)
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

        if (!_running.TryGet(jobId, out var item) || !item.TrySetStopReason(reason))
        {
            return false;
        }

        // Trip the token on the thread pool, not on the caller's thread: cancellation callbacks and
        // continuations that complete inline would otherwise run the job's code on the thread that
        // called CancelAsync (a UI thread, say) until the job's next await.
        ThreadPool.UnsafeQueueUserWorkItem(static i => i.Trip(), item, preferLocal: false);
        return true;
    }

    public bool IsRunning(JobId jobId) => _running.Contains(jobId);

    public async Task StopAllAsync(JobStopReason reason)
    {
        if (reason == JobStopReason.None)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "A stop needs a reason.");
        }

        var items = _running.Items;
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
    }

    public void Dispose()
    {
        // Bounded by the grace period: items that ignore cancellation are abandoned.
        DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Runs an item's work on a thread-pool thread and records how it ended.</summary>
    internal static async Task RunAsync(JobWorkItem item)
    {
        item.RecordThread();
        try
        {
            object? value;
            Task<object?>? suspended;
            item.EnterPoolThread();
            try
            {
                value = RunUntilFirstAwait(item, out suspended);
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

    private static void RunOnDedicatedThread(JobWorkItem item)
    {
        item.RecordThread();
        try
        {
            var value = RunUntilFirstAwait(item, out var suspended);
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
    private static object? RunUntilFirstAwait(JobWorkItem item, out Task<object?>? suspended)
    {
        var pending = item.RunAsync(item.Token);
        if (pending.IsCompleted)
        {
            suspended = null;
            return pending.Result;
        }

        suspended = pending.AsTask();
        item.RootTask = suspended;
        return null;
    }

    private static void Succeed(JobWorkItem item, object? value)
    {
        // A timed-out item that returns within the grace period still ends TimedOut: its deadline passed.
        var status = item.StopReason == JobStopReason.TimedOut ? JobExecutionStatus.TimedOut : JobExecutionStatus.Succeeded;
        item.TryFinish(new RunOutcome(status, value, null, false, item.StartedAt, Elapsed(item)));
    }

    private static void Fail(JobWorkItem item, Exception ex)
    {
        var stopped = item.StopReason != JobStopReason.None && ex is OperationCanceledException && item.Token.IsCancellationRequested;
        var status = stopped ? item.StatusForStop() : JobExecutionStatus.Faulted;
        item.TryFinish(new RunOutcome(status, null, ex, false, item.StartedAt, Elapsed(item)));
    }

    private static TimeSpan Elapsed(JobWorkItem item) => Stopwatch.GetElapsedTime(item.StartTimestamp);

    private void OnDeadline(JobWorkItem item)
    {
        // The reason is recorded at once, so that an abandonment or a late return during the
        // capture below still ends TimedOut; the token trips after the capture.
        if (!item.TrySetStopReason(JobStopReason.TimedOut))
        {
            return;
        }

        if (!item.HasDeadlineAction)
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
                await item.OnDeadlineAsync(limit.Token).ConfigureAwait(false);
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

    private void Abandon(JobWorkItem item)
    {
        // The timeout's dump is still being captured (slower than the grace period on a busy
        // machine): abandon once it is done, so that the job's record keeps it.
        if (item.TimeoutCapture is { IsCompleted: false } capture)
        {
            _ = capture.ContinueWith(
                static (_, s) =>
                {
                    var (executor, waiting) = ((JobExecutor, JobWorkItem))s!;
                    executor.Abandon(waiting);
                },
                (this, item),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return;
        }

        var abandoned = new RunOutcome(
            item.StatusForStop(),
            null,
            new TimeoutException($"'{item.Name}' ({item.JobId}) ignored cancellation for {_grace} and was abandoned."),
            Abandoned: true,
            item.StartedAt,
            Elapsed(item));
        // Counted before the outcome is published (its watchers may read the count at once), and
        // taken back if the work finished first.
        Interlocked.Increment(ref _abandoned);
        if (!item.TryFinish(abandoned))
        {
            Interlocked.Decrement(ref _abandoned);
            return;
        }

        item.CompensateIfHoldingPoolThread();
    }

    /// <summary>Frees a finished item's slots (called once, by <see cref="JobWorkItem.TryFinish"/>).</summary>
    internal void FreeSlotsOf(JobWorkItem item)
    {
        _running.Remove(item);
        FreeSlots(item.Queue);
    }

    /// <summary>Frees the slots of an item that ended or never started.</summary>
    private void FreeSlots(string? queue)
    {
        _global.Release();
        if (queue is not null && _queues.TryGetValue(queue, out var q))
        {
            q.Release();
        }

        SlotFreed?.Invoke();
    }
}
