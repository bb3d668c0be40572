namespace JobRuntime;

/// <summary>
/// One timer for every running item's deadline: a min-heap of deadlines and a single
/// <see cref="ITimer"/> armed for the earliest. At a timeout the item is stopped and an abandon
/// deadline is pushed a grace period later; an item still running then is abandoned.
/// </summary>
internal sealed class Watchdog : IDisposable
{
    private readonly Lock _gate = new();
    private readonly PriorityQueue<Deadline, DateTimeOffset> _heap = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _grace;
    private readonly Action<JobWorkItem> _onTimeout;
    private readonly Action<JobWorkItem> _abandon;
    private readonly ITimer _timer;
    private DateTimeOffset? _armedFor;
    private bool _disposed;

    public Watchdog(TimeProvider time, TimeSpan grace, Action<JobWorkItem> onTimeout, Action<JobWorkItem> abandon)
    {
        _time = time;
        _grace = grace;
        _onTimeout = onTimeout;
        _abandon = abandon;
        _timer = time.CreateTimer(static s => ((Watchdog)s!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public void AddTimeout(JobWorkItem item, DateTimeOffset at) => Add(new Deadline(item, Abandon: false), at);

    public void AddAbandon(JobWorkItem item, DateTimeOffset at) => Add(new Deadline(item, Abandon: true), at);

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _heap.Clear();
        }

        _timer.Dispose();
    }

    private void Add(Deadline deadline, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _heap.Enqueue(deadline, at);
            ArmLocked();
        }
    }

    private void ArmLocked()
    {
        // Finished items are dropped lazily from the top, so the heap holds at most the running items.
        while (_heap.TryPeek(out var top, out _) && top.Item.IsFinished)
        {
            _heap.Dequeue();
        }

        if (!_heap.TryPeek(out _, out var earliest))
        {
            _armedFor = null;
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        if (_armedFor == earliest)
        {
            return;
        }

        _armedFor = earliest;
        var due = earliest - _time.GetUtcNow();
        _timer.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private void Fire()
    {
        List<Deadline>? due = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetUtcNow();
            while (_heap.TryPeek(out var top, out var at) && at <= now)
            {
                _heap.Dequeue();
                if (!top.Item.IsFinished)
                {
                    (due ??= []).Add(top);
                }
            }

            _armedFor = null;
            ArmLocked();
        }

        if (due is null)
        {
            return;
        }

        // Callbacks run outside the lock: stopping trips user cancellation callbacks.
        foreach (var deadline in due)
        {
            if (deadline.Abandon)
            {
                _abandon(deadline.Item);
            }
            else
            {
                _onTimeout(deadline.Item);
                AddAbandon(deadline.Item, _time.GetUtcNow() + _grace);
            }
        }
    }

    private readonly record struct Deadline(JobWorkItem Item, bool Abandon);
}
