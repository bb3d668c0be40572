namespace JobRuntime.Storage;

/// <summary>The result of <see cref="IJobStore.RecoverAsync"/>.</summary>
/// <param name="Recovered">The jobs whose lease had expired, in their new state (pending for a retry, or failed).</param>
/// <param name="CancelledDependents">Dependents cancelled because a recovered job failed for good.</param>
public sealed record RecoveryResult(IReadOnlyList<JobSnapshot> Recovered, IReadOnlyList<JobId> CancelledDependents)
{
    /// <summary>Nothing recovered.</summary>
    public static RecoveryResult Empty { get; } = new([], []);
}
