using System.Threading.Channels;

namespace JobRuntime.Progress;

/// <summary>
/// One subscriber's buffer: FIFO, never blocks the writer, keeps at most <c>capacity</c>
/// droppable events (dropping the oldest of them) and every lifecycle event.
/// </summary>
internal sealed class SubscriberQueue : ChannelReader<JobEvent>
{
    private readonly Lock _gate = new();
    private readonly LinkedList<JobEvent> _items = new();
    private readonly Queue<LinkedListNode<JobEvent>> _droppable = new();
    private readonly int _capacity;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<bool>? _waiter;
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
        TaskCompletionSource<bool>? waiter;
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

            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult(true);
    }

    /// <summary>Marks the end of the stream; buffered events can still be read.</summary>
    public void Complete()
    {
        TaskCompletionSource<bool>? waiter;
        bool empty;
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            empty = _items.Count == 0;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult(!empty);
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

    public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task<bool> wait;
            lock (_gate)
            {
                if (_items.Count > 0)
                {
                    return true;
                }

                if (_completed)
                {
                    return false;
                }

                _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
