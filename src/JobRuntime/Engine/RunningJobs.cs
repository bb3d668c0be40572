using System.Diagnostics.CodeAnalysis;

namespace JobRuntime.Engine;

/// <summary>
/// The engine's runs in this process, from claim until their outcome is written: the lease keeper
/// renews them, the signal relay and the manager look them up, shutdown waits for them to drain.
/// </summary>
internal sealed class RunningJobs
{
    private readonly JobRegistry<JobRun> _runs = new();
    private int _active;
    private TaskCompletionSource? _drained;

    public int Count => _runs.Count;

    public bool IsEmpty => _runs.Count == 0;

    /// <summary>A copy of the runs now.</summary>
    public JobRun[] All => _runs.ToArray();

    public bool Contains(JobId id) => _runs.Contains(id);

    public bool TryGet(JobId id, [MaybeNullWhen(false)] out JobRun run) => _runs.TryGet(id, out run);

    public void Add(JobRun run)
    {
        _runs.Set(run.JobId, run);

        // Counted rather than collected: shutdown waits for the count to reach zero.
        Interlocked.Increment(ref _active);
    }

    public void Remove(JobRun run)
    {
        _runs.Remove(run.JobId, run);
        if (Interlocked.Decrement(ref _active) == 0)
        {
            Volatile.Read(ref _drained)?.TrySetResult();
        }
    }

    /// <summary>Completes when no run is left (no run starts once shutdown began).</summary>
    public Task Drained()
    {
        var drained = Volatile.Read(ref _drained)
            ?? Interlocked.CompareExchange(ref _drained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
            ?? _drained;
        if (Volatile.Read(ref _active) == 0)
        {
            drained.TrySetResult();
        }

        return drained.Task;
    }
}
