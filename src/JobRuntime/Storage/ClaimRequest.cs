namespace JobRuntime.Storage;

/// <summary>What <see cref="IJobStore.ClaimAsync"/> should claim.</summary>
/// <param name="Owner">The claiming worker's name, recorded with the lease.</param>
/// <param name="MaxCount">The most jobs to claim.</param>
/// <param name="LeaseDuration">How long each lease lasts unless renewed.</param>
public sealed record ClaimRequest(string Owner, int MaxCount, TimeSpan LeaseDuration)
{
    /// <summary>
    /// Per-queue caps on how many jobs of that queue may be claimed now; queues not listed are
    /// limited only by <see cref="MaxCount"/>.
    /// </summary>
    public IReadOnlyDictionary<string, int>? QueueLimits { get; init; }

    /// <summary>Only claim from these queues; <see langword="null"/> for all.</summary>
    public IReadOnlyCollection<string>? Queues { get; init; }

    /// <summary>Whether a job of <paramref name="queue"/> may be claimed, given how many of that queue were claimed already in this call.</summary>
    /// <param name="queue">The job's queue.</param>
    /// <param name="alreadyClaimed">How many jobs of that queue this claim has taken.</param>
    /// <returns><see langword="true"/> when the job may be claimed.</returns>
    public bool Allows(string queue, int alreadyClaimed)
    {
        if (Queues is not null && !Queues.Contains(queue))
        {
            return false;
        }

        return QueueLimits is null || !QueueLimits.TryGetValue(queue, out var limit) || alreadyClaimed < limit;
    }
}
