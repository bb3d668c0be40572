using System.Threading.Channels;
using System.Threading.Tasks.Sources;

namespace JobRuntime;

/// <summary>
/// One subscriber's buffer: FIFO, never blocks the writer, keeps at most <c>capacity</c>
/// droppable events (dropping the oldest of them) and every lifecycle event. One reader at a
/// time: its wait reuses a single value-task source and the buffer is a ring, so nothing is
/// allocated per event.
/// </summary>
internal sealed class SubscriberQueue : ChannelReader<JobEvent>, IValueTaskSource<bool>
{
    private readonly Lock _gate = new();

    /// <summary>Sequence numbers of the buffered droppable events, oldest first.</summary>
    private readonly Queue<long> _droppable = new();
    private readonly int _capacity;

    /// <summary>
    /// A ring of events indexed by sequence number (<c>seq &amp; (length - 1)</c>) from
    /// <see cref="_head"/> (the next to read) to <see cref="_tail"/> (the next to write); a dropped
    /// event leaves a null hole that reads skip. Grows by doubling; no allocation per event.
    /// </summary>
    private JobEvent?[] _ring = new JobEvent?[16];
    private long _head;
    private long _tail;
    private int _count;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ManualResetValueTaskSourceCore<bool> _wait = new() { RunContinuationsAsynchronously = true };
    private bool _waiting;
    private CancellationTokenRegistration _waitCancellation;
    private bool _completed;
    private long _dropped;

    public SubscriberQueue(int capacity) => _capacity = Math.Max(1, capacity);

    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>How many droppable events this buffer keeps.</summary>
    public int Capacity => _capacity;

    /// <summary>Counts droppable events dropped on their way here (see <see cref="FanOut"/>).</summary>
    public void AddDropped(long count)
    {
        if (count > 0)
        {
            Interlocked.Add(ref _dropped, count);
        }
    }

    /// <summary>The ring's current length (for tests of its bound).</summary>
    internal int RingLength
    {
        get
        {
            lock (_gate)
            {
                return _ring.Length;
            }
        }
    }

    public override Task Completion => _completion.Task;

    public override bool CanCount => true;

    public override int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    public void Enqueue(JobEvent item)
    {
        bool wake;
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            if (_tail - _head == _ring.Length)
            {
                Grow();
            }

            var seq = _tail++;
            _ring[seq & (_ring.Length - 1)] = item;
            _count++;
            if (item.IsDroppable)
            {
                _droppable.Enqueue(seq);
                if (_droppable.Count > _capacity)
                {
                    // The oldest droppable event gives way; lifecycle events around it stay.
                    _ring[_droppable.Dequeue() & (_ring.Length - 1)] = null;
                    _count--;
                    Interlocked.Increment(ref _dropped);
                }
            }

            wake = _waiting;
            _waiting = false;
        }

        if (wake)
        {
            Signal(true);
        }
    }

    /// <summary>Marks the end of the stream; buffered events can still be read.</summary>
    public void Complete()
    {
        bool wake;
        bool empty;
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            empty = _count == 0;
            wake = _waiting;
            _waiting = false;
        }

        if (wake)
        {
            Signal(!empty);
        }

        if (empty)
        {
            _completion.TrySetResult();
        }
    }

    public override bool TryRead(out JobEvent item)
    {
        bool drained;
        lock (_gate)
        {
            if (!SkipHoles())
            {
                item = null!;
                return false;
            }

            var slot = _head & (_ring.Length - 1);
            item = _ring[slot]!;
            _ring[slot] = null;
            if (_droppable.TryPeek(out var oldest) && oldest == _head)
            {
                _droppable.Dequeue();
            }

            _head++;
            _count--;
            drained = _completed && _count == 0;
        }

        if (drained)
        {
            _completion.TrySetResult();
        }

        return true;
    }

    public override bool TryPeek(out JobEvent item)
    {
        lock (_gate)
        {
            item = SkipHoles() ? _ring[_head & (_ring.Length - 1)]! : null!;
            return item is not null;
        }
    }

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }

        lock (_gate)
        {
            if (_count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            if (_waiting)
            {
                throw new InvalidOperationException("A job event subscription has one reader at a time.");
            }

            _wait.Reset();
            _waiting = true;
            if (cancellationToken.CanBeCanceled)
            {
                _waitCancellation = cancellationToken.UnsafeRegister(static (s, token) => ((SubscriberQueue)s!).CancelWait(token), this);
            }

            return new ValueTask<bool>(this, _wait.Version);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _wait.OnCompleted(continuation, state, token, flags);

    /// <summary>Moves the head past dropped events; whether an event is there to read. Under the lock.</summary>
    private bool SkipHoles()
    {
        while (_head < _tail && _ring[_head & (_ring.Length - 1)] is null)
        {
            _head++;
        }

        return _head < _tail;
    }

    /// <summary>
    /// Makes room: squeezes out the holes of dropped events and, if the live events still fill
    /// more than half the ring, doubles it. Memory stays bounded by what is buffered, however
    /// many events were dropped behind an unread one. Under the lock.
    /// </summary>
    private void Grow()
    {
        var size = _count * 2 > _ring.Length ? _ring.Length * 2 : _ring.Length;
        var ring = new JobEvent?[size];
        var next = _head;
        _droppable.Clear();
        for (var seq = _head; seq < _tail; seq++)
        {
            if (_ring[seq & (_ring.Length - 1)] is { } item)
            {
                ring[next & (size - 1)] = item;
                if (item.IsDroppable)
                {
                    _droppable.Enqueue(next);
                }

                next++;
            }
        }

        _ring = ring;
        _tail = next;
    }

    private void Signal(bool result)
    {
        _waitCancellation.Dispose();
        _waitCancellation = default;
        _wait.SetResult(result);
    }

    private void CancelWait(CancellationToken token)
    {
        lock (_gate)
        {
            if (!_waiting)
            {
                return;
            }

            _waiting = false;
        }

        _wait.SetException(new OperationCanceledException(token));
    }
}
