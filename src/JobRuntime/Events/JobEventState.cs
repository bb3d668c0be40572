namespace JobRuntime;

/// <summary>What the broker knows of a job: its last lifecycle event and last progress.</summary>
/// <param name="Lifecycle">The last non-droppable event.</param>
/// <param name="Progress">The last progress reported, if any.</param>
public readonly record struct JobEventState(JobEvent Lifecycle, JobProgress? Progress);
