namespace JobRuntime;

/// <summary>
/// The blocking monitor: finds pool items that block the thread they started on and compensates the
/// thread pool for them while they do.
/// </summary>
internal sealed partial class JobExecutor
{
    /// <summary>How often running items are checked for blocking their thread-pool thread.</summary>
    internal static readonly TimeSpan BlockingScanInterval = TimeSpan.FromMilliseconds(250);

    private readonly Lock _monitorGate = new();
    private readonly ManualResetEventSlim _monitorWake = new(false);
    private Thread? _monitor;
    private int _blockingScanArmed;

    /// <summary>
    /// Wakes the blocking monitor if it is idle. The monitor is a thread of its own, not a timer: a
    /// timer's callback needs a pool thread, which is what a starved pool does not have. It sleeps
    /// while no pool item runs.
    /// </summary>
    private void ArmBlockingScan()
    {
        // Read first: on the hot path the monitor is armed already, and a failed compare-exchange
        // per job would still take the cache line.
        if (Volatile.Read(ref _blockingScanArmed) != 0 || Interlocked.CompareExchange(ref _blockingScanArmed, 1, 0) != 0 || _disposed)
        {
            return;
        }

        if (_monitor is null)
        {
            lock (_monitorGate)
            {
                _monitor ??= StartMonitor();
            }
        }

        _monitorWake.Set();
    }

    private Thread StartMonitor()
    {
        var thread = new Thread(static s => ((JobExecutor)s!).MonitorLoop()) { IsBackground = true, Name = "JobRuntime blocking monitor" };
        thread.Start(this);
        return thread;
    }

    private void MonitorLoop()
    {
        while (!_disposed)
        {
            _monitorWake.Wait();
            _monitorWake.Reset();
            while (!_disposed)
            {
                Thread.Sleep(BlockingScanInterval);
                if (ScanForBlocking())
                {
                    continue;
                }

                // Idle: disarm, then look once more (an item may have started between the scan and now).
                Volatile.Write(ref _blockingScanArmed, 0);
                if (!_running.Items.Any(item => !item.DedicatedThread) || Interlocked.CompareExchange(ref _blockingScanArmed, 1, 0) != 0)
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Every item still running synchronously on the pool thread it started on, at two scans in a
    /// row (so for at least one interval), is compensated with one more pool thread: a handler that
    /// blocks (a synchronous wait, a long loop) would otherwise hold a thread the pool only replaces
    /// slowly, and every job queued behind it would wait.
    /// </summary>
    /// <returns>Whether any pool item is running.</returns>
    private bool ScanForBlocking()
    {
        var poolItems = false;
        foreach (var item in _running.Items)
        {
            if (!item.DedicatedThread)
            {
                poolItems = true;
                item.CompensateIfBlockingSinceLastScan();
            }
        }

        return poolItems;
    }

    private int _compensatedThreads;

    /// <summary>How many thread-pool threads this executor added to the pool's minimum for items blocking theirs.</summary>
    internal int CompensatedThreads => Volatile.Read(ref _compensatedThreads);

    /// <summary>
    /// An item blocking the thread-pool thread it started on (a synchronous wait, a loop that
    /// ignores its token; found by the blocking scan, or abandoned while still holding it) keeps
    /// that thread from every other job; the pool adds threads only slowly once its minimum is
    /// reached. So the pool's minimum goes up by one for as long as the item holds its thread, and
    /// the pool starts a replacement at once.
    /// </summary>
    internal void CompensatePoolThread(int delta)
    {
        lock (_running)
        {
            ThreadPool.GetMinThreads(out var workers, out var io);
            if (ThreadPool.SetMinThreads(Math.Max(1, workers + delta), io))
            {
                _compensatedThreads += delta;
            }
        }
    }
}
