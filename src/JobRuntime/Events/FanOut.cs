namespace JobRuntime;

/// <summary>
/// Hands one stream's events to its subscribers. With a few subscribers the publishing thread
/// delivers them itself (the cheapest way); with more than <see cref="InlineLimit"/>, it only queues
/// the event and one thread-pool pass delivers it to everyone, so a job's cost of publishing does
/// not grow with its audience (1,000 browser tabs watching a job do not slow the job). Either way
/// each subscriber receives the events in the order they were posted, and only those posted after
/// it was added (what came before is in the state it was given when it subscribed).
/// </summary>
internal sealed class FanOut : IThreadPoolWorkItem
{
    /// <summary>Up to this many subscribers, events are delivered on the publishing thread.</summary>
    internal const int InlineLimit = 8;

    private readonly Lock _gate = new();
    private Subscriber[] _subscribers = [];
    private List<Posted> _pending = [];
    private List<Posted> _spare = [];
    private long _posted;
    private int _pendingDroppable;
    private long _droppedPending;
    private bool _draining;

    /// <summary>The most droppable events any subscriber keeps; older pending ones would be dropped by all of them.</summary>
    private int _pendingDroppableLimit = 1;

    /// <summary>How many subscribers there are.</summary>
    public int Count => Volatile.Read(ref _subscribers).Length;

    /// <summary>Adds a subscriber; it receives the events posted from now on.</summary>
    public void Add(SubscriberQueue queue)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, new Subscriber(queue, _posted)];
            _pendingDroppableLimit = Math.Max(_pendingDroppableLimit, queue.Capacity);
        }
    }

    /// <summary>Removes a subscriber (it may still receive an event being delivered this instant).</summary>
    public void Remove(SubscriberQueue queue)
    {
        lock (_gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => !ReferenceEquals(s.Queue, queue));
        }
    }

    /// <summary>
    /// Posts an event to every subscriber; with <paramref name="last"/>, their streams end after it
    /// and they are let go.
    /// </summary>
    public void Post(JobEvent jobEvent, bool last)
    {
        lock (_gate)
        {
            var seq = ++_posted;
            if (!_draining && _subscribers.Length <= InlineLimit)
            {
                foreach (var subscriber in _subscribers)
                {
                    subscriber.Queue.Enqueue(jobEvent);
                }

                if (last)
                {
                    CompleteAll(_subscribers);
                    _subscribers = [];
                }

                return;
            }

            _pending.Add(new Posted(jobEvent, seq, last));
            if (jobEvent.IsDroppable && ++_pendingDroppable > _pendingDroppableLimit * 2)
            {
                TrimPending();
            }

            if (_draining)
            {
                return;
            }

            _draining = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>The thread-pool pass: delivers what is pending until nothing is.</summary>
    public void Execute()
    {
        while (true)
        {
            List<Posted> batch;
            Subscriber[] subscribers;
            long dropped;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _draining = false;
                    return;
                }

                batch = _pending;
                _pending = _spare;
                _spare = [];
                _pendingDroppable = 0;
                dropped = _droppedPending;
                _droppedPending = 0;
                subscribers = _subscribers;
            }

            var ended = false;
            foreach (var subscriber in subscribers)
            {
                subscriber.Queue.AddDropped(dropped);
                foreach (var posted in batch)
                {
                    if (posted.Seq > subscriber.After)
                    {
                        subscriber.Queue.Enqueue(posted.Event);
                    }
                }
            }

            foreach (var posted in batch)
            {
                ended |= posted.Last;
            }

            if (ended)
            {
                // A stream's last event is its terminal one: nothing is posted after it, and no one
                // subscribes after it was posted (they are given it at once instead).
                CompleteAll(subscribers);
                lock (_gate)
                {
                    _subscribers = [];
                }
            }

            batch.Clear();
            lock (_gate)
            {
                _spare = batch;
            }
        }
    }

    private static void CompleteAll(Subscriber[] subscribers)
    {
        foreach (var subscriber in subscribers)
        {
            subscriber.Queue.Complete();
        }
    }

    /// <summary>
    /// Drops the oldest pending droppable events beyond what the largest subscriber buffer keeps, so
    /// a job that outpaces the delivery of its events holds bounded memory. Under the lock.
    /// </summary>
    private void TrimPending()
    {
        var keep = _pendingDroppableLimit;
        var drop = _pendingDroppable - keep;
        var kept = new List<Posted>(_pending.Count - drop);
        foreach (var posted in _pending)
        {
            if (drop > 0 && posted.Event.IsDroppable)
            {
                drop--;
                _droppedPending++;
                continue;
            }

            kept.Add(posted);
        }

        _pending = kept;
        _pendingDroppable = keep;
    }

    private readonly record struct Subscriber(SubscriberQueue Queue, long After);

    private readonly record struct Posted(JobEvent Event, long Seq, bool Last);
}
