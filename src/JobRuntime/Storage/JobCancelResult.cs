namespace JobRuntime.Storage;

/// <summary>The result of a cancel.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="CancelledDependents">Dependents cancelled along with a pending job.</param>
public sealed record JobCancelResult(JobCancelOutcome Outcome, IReadOnlyList<JobId> CancelledDependents);
