namespace JobRuntime;

/// <summary>
/// The registry of work items holding a slot of the runtime's executor: the executor adds and
/// removes them, thread dumps read which thread runs which job from it.
/// </summary>
internal sealed class RunningWorkItems
{
    private readonly JobRegistry<JobWorkItem> _items = new();

    public int Count => _items.Count;

    /// <summary>A copy of the items now.</summary>
    public JobWorkItem[] Items => _items.ToArray();

    public bool Contains(JobId jobId) => _items.Contains(jobId);

    public bool TryGet(JobId jobId, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out JobWorkItem item) => _items.TryGet(jobId, out item);

    public bool TryAdd(JobWorkItem item) => _items.TryAdd(item.JobId, item);

    public void Remove(JobWorkItem item) => _items.Remove(item.JobId, item);
}
