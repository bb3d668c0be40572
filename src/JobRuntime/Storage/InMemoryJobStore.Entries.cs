namespace JobRuntime.Storage;

internal sealed partial class InMemoryJobStore
{
    /// <summary>
    /// A job the engine claimed in this process: the job as it waited (its running snapshot is
    /// <see cref="Running"/> of it, made only when read), the claim, the lease's expiry and the start (UTC ticks).
    /// </summary>
    /// <remarks><see cref="Entry"/> is the store's record of the job, opaque outside the store: the completion
    /// goes to it directly instead of looking the job up among every stored one.</remarks>
    internal readonly record struct LocalClaim(JobSnapshot Pending, long Claim, long ExpiresAt, long StartedAt, object Entry);

    /// <summary>The snapshot of a claimed job: the waiting job, running its next attempt for <paramref name="owner"/> since <paramref name="startedAt"/>.</summary>
    internal static JobSnapshot Running(JobSnapshot pending, string owner, DateTimeOffset startedAt) => pending with
    {
        Status = JobStatus.Running,
        WaitReason = JobWaitReason.None,
        Attempt = pending.Attempt + 1,
        StartedAt = startedAt,
        Owner = owner,
        CancellationRequested = false,
    };

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
        private object? _outcome;    // a JobCompletion, or the result JSON of a plain success (Succeeded)
        private string? _runOwner;   // set while a claim's running state is not folded in yet
        private long _runStartedAt;  // UTC ticks
        private long _at;            // UTC ticks: the lease's expiry while the job runs, the outcome's time once it ended

        /// <summary>
        /// The job as it is now. A claim (<see cref="StartRun"/>) and a final outcome (<see cref="RecordOutcome"/>)
        /// are folded in at the first read: most jobs are never read while they run or before they are
        /// forgotten, so most never pay those copies.
        /// </summary>
        public JobSnapshot Job
        {
            get
            {
                if (_runOwner is { } owner)
                {
                    _job = Running(_job, owner, new DateTimeOffset(_runStartedAt, TimeSpan.Zero));
                    _runOwner = null;
                }

                if (_outcome is { } outcome)
                {
                    _job = Finished(_job, outcome, new DateTimeOffset(_at, TimeSpan.Zero));
                    _outcome = null;
                }

                return _job;
            }

            set
            {
                _job = value;
                _outcome = null;
                _runOwner = null;
            }
        }

        /// <summary>The job's status, without folding anything in.</summary>
        public JobStatus Status => _outcome switch
        {
            JobCompletion outcome => outcome.ResultingStatus,
            string => JobStatus.Completed,
            _ => _runOwner is not null ? JobStatus.Running : _job.Status,
        };

        /// <summary>The job without a claim or an outcome folded in: for what neither changes (id, type, arguments, idempotency key).</summary>
        public JobSnapshot Stable => _job;

        /// <summary>A claim started an attempt (under the store's lock): the running snapshot is made when first read.</summary>
        public void StartRun(string owner, long startedAt, long claim, long leaseExpiresAt)
        {
            _runOwner = owner;
            _runStartedAt = startedAt;
            Claim = claim;
            _at = leaseExpiresAt;
        }

        /// <summary>
        /// Records a final outcome without copying the snapshot yet (always under the store's lock):
        /// most finished jobs are never read again before they are pruned, so most never pay the copy.
        /// </summary>
        /// <param name="outcome">A <see cref="JobCompletion"/>, or the result JSON of an attempt that completed with
        /// nothing else to keep (no artifacts, no progress reported): most jobs, and no completion object for them.</param>
        /// <param name="at">When.</param>
        public void RecordOutcome(object outcome, DateTimeOffset at)
        {
            _outcome = outcome;
            _at = at.UtcTicks;
        }

        /// <summary>While the job runs: the claim that started its attempt (its lease's token); 0 otherwise.</summary>
        public long Claim { get; set; }

        /// <summary>While the job runs (<see cref="Claim"/> not 0): when its lease expires (UTC ticks).</summary>
        public long LeaseExpiresAt { get => _at; set => _at = value; }

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
