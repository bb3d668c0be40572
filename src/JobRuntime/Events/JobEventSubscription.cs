using System.Threading.Channels;

namespace JobRuntime;

/// <summary>
/// A live subscription to job events. Read it with <see cref="ReadAllAsync"/> or <see cref="Reader"/>;
/// dispose it to unsubscribe. A single-job subscription completes after the job's terminal event.
/// </summary>
public sealed class JobEventSubscription : IDisposable
{
    private readonly SubscriberQueue _queue;
    private Action<JobEventSubscription>? _unsubscribe;

    internal JobEventSubscription(SubscriberQueue queue, Action<JobEventSubscription>? unsubscribe)
    {
        _queue = queue;
        _unsubscribe = unsubscribe;
    }

    /// <summary>The events, as a channel reader.</summary>
    public ChannelReader<JobEvent> Reader => _queue;

    /// <summary>How many droppable events (progress, custom) this subscriber lost because it read too slowly.</summary>
    public long DroppedCount => _queue.DroppedCount;

    internal SubscriberQueue Queue => _queue;

    private Task<bool>? _pendingWait;

    /// <summary>
    /// Waits for an event as a task that survives being given up on: a caller that stops waiting
    /// after a poll interval and asks again gets the same outstanding wait (the buffer has one reader).
    /// </summary>
    internal Task<bool> WaitToReadAsTask(CancellationToken cancellationToken)
    {
        if (_pendingWait is { IsCompleted: false } pending)
        {
            return pending;
        }

        return _pendingWait = _queue.WaitToReadAsync(cancellationToken).AsTask();
    }

    /// <summary>Reads events until the stream ends or <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The events in the order they were published.</returns>
    public IAsyncEnumerable<JobEvent> ReadAllAsync(CancellationToken cancellationToken = default) => _queue.ReadAllAsync(cancellationToken);

    /// <summary>Unsubscribes. Events already buffered can still be read.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _unsubscribe, null)?.Invoke(this);
        _queue.Complete();
    }
}
