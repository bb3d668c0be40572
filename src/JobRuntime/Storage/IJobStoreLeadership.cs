namespace JobRuntime.Storage;

/// <summary>
/// Implemented by stores shared by several nodes to elect one node that runs the maintenance
/// (recovery of expired leases, retention pruning), instead of every node doing it. Each task stays
/// correct if two nodes run it at once (a leader that lost its lease without knowing, say); the
/// election only saves the redundant work.
/// </summary>
public interface IJobStoreLeadership
{
    /// <summary>
    /// Takes the leadership, or keeps it, for <paramref name="ttl"/>; another node takes over only
    /// after it expires or is resigned.
    /// </summary>
    /// <param name="owner">This node's name.</param>
    /// <param name="ttl">How long the leadership lasts unless renewed.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when this node leads.</returns>
    ValueTask<bool> TryLeadAsync(string owner, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Gives the leadership up (on shutdown), so that another node takes over at once.</summary>
    /// <param name="owner">This node's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the leadership is released (or was not held).</returns>
    ValueTask ResignAsync(string owner, CancellationToken cancellationToken = default);

    /// <summary>Which node leads now, for health checks.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The leader's name; <see langword="null"/> when no node holds an unexpired leadership.</returns>
    /// <exception cref="NotSupportedException">The store cannot tell (the default); health checks then leave the leader out.</exception>
    ValueTask<string?> GetLeaderAsync(CancellationToken cancellationToken = default)
        => throw new NotSupportedException("This store does not report its leader.");
}
