namespace JobRuntime.ThreadDumps;

/// <summary>What a <see cref="IThreadDumpProvider"/> is asked to capture.</summary>
/// <param name="JobId">The job the dump is about, if any.</param>
/// <param name="Reason">Why ("timeout", "stall", "on demand", "SIGQUIT").</param>
/// <param name="RunningJobs">The runtime's registry of running jobs and their threads.</param>
public sealed record ThreadDumpRequest(JobId? JobId, string Reason, IReadOnlyList<RunningJobInfo> RunningJobs)
{
    /// <summary>
    /// A provider calls it as soon as the threads' state is taken, before it processes what it took
    /// (a trace to parse, a heap to walk): at a job's deadline the runtime trips the job's token then,
    /// so the processing does not stretch the job's timeout. Safe to call more than once; the runtime
    /// calls it itself when a provider returns without having called it.
    /// </summary>
    public Action SnapshotTaken { get; init; } = static () => { };
}
