namespace JobRuntime.Storage;

/// <summary>What another node told this one through the store.</summary>
public enum JobStoreSignalKind
{
    /// <summary>Jobs were submitted (or became ready): claim now rather than at the next poll.</summary>
    JobsAvailable,

    /// <summary>Cancellation of a running job was requested; the node running it should trip its token.</summary>
    CancelRequested,

    /// <summary>A job running on another node reported progress (as persisted, so throttled).</summary>
    Progress,

    /// <summary>A job started or ended on another node; its stored row has the details.</summary>
    StatusChanged,

    /// <summary>
    /// The store's channel was re-established after a loss: news may have been missed. The runtime
    /// claims now and renews every lease at once, which brings any cancellation requested meanwhile.
    /// </summary>
    Resync,
}

/// <summary>A signal from the store.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="JobId">The job, for <see cref="JobStoreSignalKind.CancelRequested"/>.</param>
/// <param name="Queue">The queue, when known, for <see cref="JobStoreSignalKind.JobsAvailable"/>.</param>
/// <param name="Progress">The progress, for <see cref="JobStoreSignalKind.Progress"/>.</param>
public readonly record struct JobStoreSignal(JobStoreSignalKind Kind, JobId? JobId = null, string? Queue = null, JobProgress? Progress = null);

/// <summary>
/// Implemented by stores shared by several nodes that can push news as it happens (PostgreSQL's
/// LISTEN/NOTIFY, say). The runtime listens while it runs: new work wakes its claim loop and a
/// cancellation requested on another node trips the token of the job running here at once,
/// instead of at the next poll or lease renewal; progress and lifecycle changes of jobs running
/// elsewhere reach this node's watchers. Signals are hints; polling and lease renewals remain the
/// guarantee (a watcher that missed one catches up from the stored row).
/// </summary>
public interface IJobStoreSignals
{
    /// <summary>
    /// Listens until <paramref name="cancellationToken"/> is cancelled, calling
    /// <paramref name="onSignal"/> for each signal. Reconnects by itself after connection loss and
    /// then reports <see cref="JobStoreSignalKind.JobsAvailable"/> (news may have been missed).
    /// </summary>
    /// <param name="onSignal">Called for each signal; must return quickly.</param>
    /// <param name="cancellationToken">Stops listening.</param>
    /// <returns>A task that completes when listening stops.</returns>
    Task ListenAsync(Action<JobStoreSignal> onSignal, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the channel works now (PostgreSQL: the listening connection is up), for health
    /// checks. A store whose signals need no connection answers <see langword="true"/>.
    /// </summary>
    bool IsConnected => true;
}
