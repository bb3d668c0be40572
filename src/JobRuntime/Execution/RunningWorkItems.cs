using System.Collections.Concurrent;

namespace JobRuntime;

/// <summary>
/// The registry of work items holding a slot of the runtime's executor: the executor adds and
/// removes them, thread dumps read which thread runs which job from it.
/// </summary>
internal sealed class RunningWorkItems
{
    private readonly ConcurrentDictionary<JobId, JobWorkItem> _items = new();

    public int Count => _items.Count;

    /// <summary>The items now; enumerating takes no lock and copies nothing (the dictionary's Values would do both).</summary>
    public IEnumerable<JobWorkItem> Items
    {
        get
        {
            foreach (var (_, item) in _items)
            {
                yield return item;
            }
        }
    }

    public bool Contains(JobId jobId) => _items.ContainsKey(jobId);

    public bool TryGet(JobId jobId, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out JobWorkItem item) => _items.TryGetValue(jobId, out item);

    public bool TryAdd(JobWorkItem item) => _items.TryAdd(item.JobId, item);

    public void Remove(JobWorkItem item) => _items.TryRemove(new KeyValuePair<JobId, JobWorkItem>(item.JobId, item));
}
