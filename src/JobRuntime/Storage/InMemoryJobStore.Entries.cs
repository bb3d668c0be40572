namespace JobRuntime.Storage;

internal sealed partial class InMemoryJobStore
{
    /// <summary>A job the engine claimed in this process: its running snapshot, the claim and the lease's expiry (UTC ticks).</summary>
    internal readonly record struct LocalClaim(JobSnapshot Job, long Claim, long ExpiresAt);

    private static ArgumentException TakenId(JobId id, string parameter = "job") => new($"A job with id {id} already exists.", parameter);

    /// <summary>The job as a read gives it: its wait reason as of now.</summary>
    private JobSnapshot Snapshot(Entry entry)
    {
        if (entry.Job is { Status: not JobStatus.Pending, WaitReason: JobWaitReason.None } notWaiting)
        {
            // Running or finished: it waits for nothing, and no clock read says so.
            return notWaiting;
        }

        if (entry.PendingParents == 0 && entry.Job is { WaitReason: JobWaitReason.None } due && due.ScheduledAt <= due.CreatedAt)
        {
            // Due when it was made (most jobs, as a submit returns them): it waits for nothing now either.
            return due;
        }

        var reason = JobWaitReasons.Of(entry.Job, entry.PendingParents > 0, _time.GetUtcNow());
        return entry.Job.WaitReason == reason ? entry.Job : entry.Job with { WaitReason = reason };
    }

    private sealed class Entry(JobSnapshot job)
    {
        private JobSnapshot _job = job;
        private JobCompletion? _outcome;
        private long _outcomeAt;   // UTC ticks: an entry is held while its job waits

        /// <summary>The job as it is now: a final outcome recorded with <see cref="RecordOutcome"/> is folded in at the first read.</summary>
        public JobSnapshot Job
        {
            get
            {
                if (_outcome is { } outcome)
                {
                    _job = Finished(_job, outcome, new DateTimeOffset(_outcomeAt, TimeSpan.Zero));
                    _outcome = null;
                }

                return _job;
            }

            set
            {
                _job = value;
                _outcome = null;
            }
        }

        /// <summary>The job without a pending outcome folded in: for what an outcome never changes (id, idempotency key).</summary>
        public JobSnapshot Stable => _job;

        /// <summary>
        /// Records a final outcome without copying the snapshot yet (always under the store's lock):
        /// most finished jobs are never read again before they are pruned, so most never pay the copy.
        /// </summary>
        public void RecordOutcome(JobCompletion outcome, DateTimeOffset at)
        {
            _outcome = outcome;
            _outcomeAt = at.UtcTicks;
        }

        /// <summary>While the job runs: the claim that started its attempt (its lease's token); 0 otherwise.</summary>
        public long Claim { get; set; }

        /// <summary>While the job runs: when its lease expires (UTC ticks).</summary>
        public long LeaseExpiresAt { get; set; }

        /// <summary>While the job is ready: the lane's stamp it was added with, or −1 in the sorted set; 0 when it is not ready.</summary>
        public int ReadyStamp { get; set; }

        public int PendingParents { get; set; }

        public List<JobId>? Children { get; set; }
    }

    // Ready jobs: highest priority first, then earliest run time, then oldest id.
    private sealed class ReadyOrder : IComparer<Entry>
    {
        public static readonly ReadyOrder Instance = new();

        public int Compare(Entry? x, Entry? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            var c = y!.Job.Priority.CompareTo(x!.Job.Priority);
            if (c == 0)
            {
                c = x.Job.ScheduledAt.CompareTo(y.Job.ScheduledAt);
            }

            return c != 0 ? c : x.Job.Id.CompareTo(y.Job.Id);
        }
    }

    private sealed class DueOrder : IComparer<Entry>
    {
        public static readonly DueOrder Instance = new();

        public int Compare(Entry? x, Entry? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            var c = x!.Job.ScheduledAt.CompareTo(y!.Job.ScheduledAt);
            return c != 0 ? c : x.Job.Id.CompareTo(y.Job.Id);
        }
    }
}
