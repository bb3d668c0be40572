using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace JobRuntime;

/// <summary>
/// The default <see cref="IProgressBroker"/>: one small lock per job, no lock held while a subscriber
/// reads, and a publisher's cost that does not grow with the number of subscribers (<see cref="FanOut"/>).
/// </summary>
internal sealed class ProgressBroker : IProgressBroker
{
    private const int FinishedJobsKept = 4096;

    private readonly ConcurrentDictionary<JobId, Topic> _topics = new();
    private readonly ConcurrentQueue<JobId> _finished = new();
    private readonly FanOut _all = new();
    private readonly int _defaultCapacity;

    public ProgressBroker(IOptions<JobRuntimeOptions> options)
        => _defaultCapacity = options.Value.SubscriberBufferCapacity;

    public void Publish(JobEvent jobEvent)
    {
        ArgumentNullException.ThrowIfNull(jobEvent);
        bool finished;
        var topic = _topics.GetOrAdd(jobEvent.JobId, static _ => new Topic());
        Monitor.Enter(topic);
        while (topic.Removed)
        {
            Monitor.Exit(topic);
            topic = _topics.GetOrAdd(jobEvent.JobId, static _ => new Topic());
            Monitor.Enter(topic);
        }

        try
        {
            if (topic.Terminal is not null)
            {
                // A job's stream ends at its terminal event; anything later (an abandoned handler
                // still reporting, say) is stale.
                return;
            }

            if (jobEvent.Kind == JobEventKind.Progress)
            {
                topic.Progress = jobEvent.Progress;
            }
            else if (!jobEvent.IsDroppable)
            {
                topic.Lifecycle = jobEvent;
                if (jobEvent.Progress is not null)
                {
                    topic.Progress = jobEvent.Progress;
                }
            }

            finished = jobEvent.IsTerminal;
            if (finished)
            {
                topic.Terminal = jobEvent;
            }

            topic.FanOut?.Post(jobEvent, last: finished);
            _all.Post(jobEvent, last: false);
        }
        finally
        {
            Monitor.Exit(topic);
        }

        if (finished)
        {
            _finished.Enqueue(jobEvent.JobId);
            while (_finished.Count > FinishedJobsKept && _finished.TryDequeue(out var old))
            {
                if (_topics.TryRemove(old, out var evicted))
                {
                    lock (evicted)
                    {
                        evicted.Removed = true;
                    }
                }
            }
        }
    }

    /// <summary>Whether anyone here would receive events of this job (its own subscribers or an all-jobs stream).</summary>
    /// <remarks>
    /// The engine asks after it stored a transition, and a watcher subscribes before it reads the
    /// store: with a full fence on both sides (here, and the locks a subscribe and a store read take)
    /// either the watcher's read sees the transition or this sees the watcher. Without the fence, the
    /// processor could let this read pass the store's write, and both would miss.
    /// A "no" means the caller will not publish this transition: the state kept for the job (from
    /// when someone listened) is then out of date, and is forgotten, so that a later subscriber
    /// starts from the store instead.
    /// </remarks>
    public bool HasSubscribers(JobId jobId)
    {
        Interlocked.MemoryBarrier();
        if (_all.Count > 0)
        {
            return true;
        }

        if (!_topics.TryGetValue(jobId, out var topic))
        {
            return false;
        }

        lock (topic)
        {
            if (topic.FanOut?.Count > 0 || _all.Count > 0)
            {
                return true;
            }

            if (!topic.Removed && topic.Terminal is null)
            {
                topic.Removed = true;
                _topics.TryRemove(new KeyValuePair<JobId, Topic>(jobId, topic));
            }

            return false;
        }
    }

    public JobEventSubscription Subscribe(JobId jobId, int? bufferCapacity = null)
    {
        var queue = new SubscriberQueue(bufferCapacity ?? _defaultCapacity);
        var topic = _topics.GetOrAdd(jobId, static _ => new Topic());
        Monitor.Enter(topic);
        while (topic.Removed)
        {
            Monitor.Exit(topic);
            topic = _topics.GetOrAdd(jobId, static _ => new Topic());
            Monitor.Enter(topic);
        }

        try
        {
            if (topic.Terminal is { } terminal)
            {
                queue.Enqueue(terminal);
                queue.Complete();
                return new JobEventSubscription(queue, null);
            }

            if (topic.Lifecycle is { } last)
            {
                queue.Enqueue(new JobEvent(jobId, JobEventKind.State, last.Status, last.Timestamp)
                {
                    JobType = last.JobType,
                    Attempt = last.Attempt,
                    Progress = topic.Progress,
                    Error = last.Error,
                });
            }

            (topic.FanOut ??= new FanOut()).Add(queue);
        }
        finally
        {
            Monitor.Exit(topic);
        }

        return new JobEventSubscription(queue, subscription => Unsubscribe(jobId, topic, subscription.Queue));
    }

    public JobEventSubscription SubscribeAll(int? bufferCapacity = null)
    {
        var queue = new SubscriberQueue(bufferCapacity ?? _defaultCapacity);
        _all.Add(queue);
        return new JobEventSubscription(queue, subscription => _all.Remove(subscription.Queue));
    }

    public bool TryGetState(JobId jobId, out JobEventState state)
    {
        if (_topics.TryGetValue(jobId, out var topic))
        {
            lock (topic)
            {
                if ((topic.Terminal ?? topic.Lifecycle) is { } last)
                {
                    state = new JobEventState(last, topic.Progress);
                    return true;
                }
            }
        }

        state = default;
        return false;
    }

    private void Unsubscribe(JobId jobId, Topic topic, SubscriberQueue queue)
    {
        lock (topic)
        {
            topic.FanOut?.Remove(queue);
            if (topic.FanOut?.Count is null or 0 && topic.Lifecycle is null && topic.Terminal is null)
            {
                topic.Removed = true;
                _topics.TryRemove(new KeyValuePair<JobId, Topic>(jobId, topic));
            }
        }
    }

    /// <summary>One job's stream. The instance is its own lock (it never leaves the broker).</summary>
    private sealed class Topic
    {
        public bool Removed;

        /// <summary>Its subscribers; made by the first (a job seen only by all-jobs streams needs none).</summary>
        public FanOut? FanOut;

        public JobEvent? Lifecycle;

        public JobProgress? Progress;

        public JobEvent? Terminal;
    }
}
