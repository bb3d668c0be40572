namespace JobRuntime;

/// <summary>
/// In-process publish/subscribe of job events. Publishing never blocks. Each subscriber has a
/// bounded buffer that drops its oldest progress and custom events when full; lifecycle events
/// are never dropped. A late subscriber first receives the job's current state; a subscriber of a
/// finished job receives its terminal event and the stream ends.
/// </summary>
public interface IProgressBroker
{
    /// <summary>Publishes an event to the job's subscribers and to every all-jobs subscriber. Never blocks.</summary>
    /// <param name="jobEvent">The event.</param>
    void Publish(JobEvent jobEvent);

    /// <summary>Subscribes to one job's events.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="bufferCapacity">How many droppable events the buffer keeps; <see langword="null"/> for the configured default.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    JobEventSubscription Subscribe(JobId jobId, int? bufferCapacity = null);

    /// <summary>Subscribes to every job's events (for dashboards and monitors). The stream ends only when disposed.</summary>
    /// <param name="bufferCapacity">How many droppable events the buffer keeps; <see langword="null"/> for the configured default.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    JobEventSubscription SubscribeAll(int? bufferCapacity = null);

    /// <summary>The last event known for a job in this process, if any (its current state for late subscribers).</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="state">The last lifecycle event and the last progress.</param>
    /// <returns><see langword="true"/> when the broker knows the job.</returns>
    bool TryGetState(JobId jobId, out JobEventState state);

    /// <summary>
    /// Whether anyone in this process subscribes to the job's events (or to every job's). The runtime
    /// asks before it makes any event of a job, and makes none when the answer is no (it also relays
    /// the progress of jobs running on other nodes only for jobs that have subscribers). After a no,
    /// the job's next transitions are not published: a broker that keeps a job's state for late
    /// subscribers must forget it then, so they start from the store. A broker that does not know
    /// answers <see langword="true"/> (every event is published to it).
    /// </summary>
    /// <param name="jobId">The job.</param>
    /// <returns><see langword="false"/> only when no one would receive the job's events.</returns>
    bool HasSubscribers(JobId jobId) => true;
}
