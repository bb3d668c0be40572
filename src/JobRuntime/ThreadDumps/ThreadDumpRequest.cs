namespace JobRuntime.ThreadDumps;

/// <summary>What a <see cref="IThreadDumpProvider"/> is asked to capture.</summary>
/// <param name="JobId">The job the dump is about, if any.</param>
/// <param name="Reason">Why ("timeout", "stall", "on demand", "SIGQUIT").</param>
/// <param name="RunningJobs">The runtime's registry of running jobs and their threads.</param>
public sealed record ThreadDumpRequest(JobId? JobId, string Reason, IReadOnlyList<RunningJobInfo> RunningJobs);
