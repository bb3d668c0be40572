using System.Threading.Channels;
using System.Threading.Tasks.Sources;

namespace JobRuntime.Progress;

/// <summary>
/// One subscriber's buffer: FIFO, never blocks the writer, keeps at most <c>capacity</c>
/// droppable events (dropping the oldest of them) and every lifecycle event. One reader at a
/// time: its wait reuses a single value-task source, so a reader that keeps up allocates nothing
/// per event beyond the buffer's node.
/// </summary>
internal sealed class SubscriberQueue : ChannelReader<JobEvent>, IValueTaskSource<bool>
{
    private readonly Lock _gate = new();
    private readonly LinkedList<JobEvent> _items = new();
    private readonly Queue<LinkedListNode<JobEvent>> _droppable = new();
    private readonly int _capacity;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ManualResetValueTaskSourceCore<bool> _wait = new() { RunContinuationsAsynchronously = true };
    private bool _waiting;
    private CancellationTokenRegistration _waitCancellation;
    private bool _completed;
    private long _dropped;

    public SubscriberQueue(int capacity) => _capacity = Math.Max(1, capacity);

    public long DroppedCount => Interlocked.Read(ref _dropped);

    public override Task Completion => _completion.Task;

    public override bool CanCount => true;

    public override int Count
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
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

            var node = _items.AddLast(item);
            if (item.IsDroppable)
            {
                _droppable.Enqueue(node);
                if (_droppable.Count > _capacity)
                {
                    _items.Remove(_droppable.Dequeue());
                    _dropped++;
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
            empty = _items.Count == 0;
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
            var first = _items.First;
            if (first is null)
            {
                item = null!;
                return false;
            }

            _items.RemoveFirst();
            if (_droppable.TryPeek(out var oldest) && ReferenceEquals(oldest, first))
            {
                _droppable.Dequeue();
            }

            item = first.Value;
            drained = _completed && _items.Count == 0;
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
            item = _items.First?.Value!;
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
            if (_items.Count > 0)
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
