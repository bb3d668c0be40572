namespace JobRuntime.Storage;

internal sealed partial class InMemoryJobStore
{
    /// <summary>
    /// The ready jobs in claim order (<see cref="ReadyOrder"/>). A job that becomes ready after every job in
    /// the lane in that order — the common case: jobs submitted one after another, due at once, at one
    /// priority — is appended to a first-in-first-out lane in O(1); any other goes into a sorted set. The
    /// next job is the first of the two heads. A job removed from the middle of the lane (cancelled while
    /// pending) is dropped when it reaches the head.
    /// </summary>
    private sealed class ReadyJobs
    {
        private readonly Queue<(Entry Entry, int Stamp)> _lane = new();
        private readonly SortedSet<Entry> _sorted = new(ReadyOrder.Instance);
        private Entry? _laneTail;

        public int Count { get; private set; }

        public void Add(Entry entry)
        {
            if (entry.ReadyStamp != 0)
            {
                return;
            }

            Count++;
            if (_lane.Count == 0 || ReadyOrder.Instance.Compare(_laneTail, entry) < 0)
            {
                entry.ReadyStamp = ++_stamps;
                _lane.Enqueue((entry, entry.ReadyStamp));
                _laneTail = entry;
            }
            else
            {
                entry.ReadyStamp = InSortedSet;
                _sorted.Add(entry);
            }
        }

        public void Remove(Entry entry)
        {
            if (entry.ReadyStamp == 0)
            {
                return;
            }

            Count--;
            var sorted = entry.ReadyStamp == InSortedSet;
            entry.ReadyStamp = 0;
            if (sorted)
            {
                _sorted.Remove(entry);
            }

            DropStaleHead();
        }

        /// <summary>The next job to claim, or <see langword="null"/>.</summary>
        public Entry? Min
        {
            get
            {
                var lane = _lane.TryPeek(out var head) ? head.Entry : null;
                var sorted = _sorted.Min;
                return lane is null ? sorted
                    : sorted is null ? lane
                    : ReadyOrder.Instance.Compare(lane, sorted) < 0 ? lane : sorted;
            }
        }

        /// <summary>Every ready job, in claim order (a merge of the lane and the sorted set).</summary>
        public IEnumerable<Entry> Ordered()
        {
            using var sorted = _sorted.GetEnumerator();
            var more = sorted.MoveNext();
            foreach (var (entry, stamp) in _lane)
            {
                if (entry.ReadyStamp != stamp)
                {
                    continue;
                }

                while (more && ReadyOrder.Instance.Compare(sorted.Current, entry) < 0)
                {
                    yield return sorted.Current;
                    more = sorted.MoveNext();
                }

                yield return entry;
            }

            while (more)
            {
                yield return sorted.Current;
                more = sorted.MoveNext();
            }
        }

        /// <summary>An entry's <see cref="Entry.ReadyStamp"/> while it is in the sorted set (a lane's stamps are positive).</summary>
        private const int InSortedSet = -1;

        private int _stamps;

        /// <summary>Drops removed jobs from the lane's head, so that its head is always a ready job.</summary>
        private void DropStaleHead()
        {
            while (_lane.TryPeek(out var head) && head.Entry.ReadyStamp != head.Stamp)
            {
                _lane.Dequeue();
            }

            if (_lane.Count == 0)
            {
                _laneTail = null;
            }
        }
    }
}
