using System.Diagnostics.CodeAnalysis;

namespace JobRuntime;

/// <summary>
/// Items by job id, for the runtime's registries of running work: a dictionary under a lock, so an
/// add allocates nothing (a concurrent dictionary allocates a node per add, and a registry sees one
/// add and one remove per job). Lookups are short; enumeration copies the items under the lock, and
/// only periodic scans (lease renewal, blocking scans, thread dumps, shutdown) enumerate.
/// </summary>
/// <typeparam name="T">The item.</typeparam>
internal sealed class JobRegistry<T>
    where T : class
{
    private readonly Dictionary<JobId, T> _items = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>A copy of the items now.</summary>
    public T[] ToArray()
    {
        lock (_lock)
        {
            if (_items.Count == 0)
            {
                return [];
            }

            var items = new T[_items.Count];
            _items.Values.CopyTo(items, 0);
            return items;
        }
    }

    public bool Contains(JobId id)
    {
        lock (_lock)
        {
            return _items.ContainsKey(id);
        }
    }

    public bool TryGet(JobId id, [MaybeNullWhen(false)] out T item)
    {
        lock (_lock)
        {
            return _items.TryGetValue(id, out item);
        }
    }

    /// <summary>Adds the item unless one is registered under the id.</summary>
    public bool TryAdd(JobId id, T item)
    {
        lock (_lock)
        {
            return _items.TryAdd(id, item);
        }
    }

    /// <summary>Registers the item under the id, replacing any other.</summary>
    public void Set(JobId id, T item)
    {
        lock (_lock)
        {
            _items[id] = item;
        }
    }

    /// <summary>Removes the id's entry if it is this item.</summary>
    public bool Remove(JobId id, T item)
    {
        lock (_lock)
        {
            if (!_items.TryGetValue(id, out var current) || !ReferenceEquals(current, item))
            {
                return false;
            }

            _items.Remove(id);

            // A burst may have grown the table far beyond what runs now; give the memory back once it drained.
            if (_items.Count == 0 && _items.EnsureCapacity(0) > 1024)
            {
                _items.TrimExcess();
            }

            return true;
        }
    }
}
