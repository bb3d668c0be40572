namespace JobRuntime.Storage;

/// <summary>
/// A store that keeps jobs in process memory: fast, and gone when the process exits. Suitable for
/// tests, tools and applications that need no persistence. Thread-safe.
/// </summary>
internal sealed partial class InMemoryJobStore : IJobStore
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<JobId, Entry> _jobs = [];
    private readonly Dictionary<string, JobId> _activeKeys = new(StringComparer.Ordinal);

    /// <summary>For result caching: the job that last completed (by running) with each idempotency key.</summary>
    private readonly Dictionary<string, JobId> _completedKeys = new(StringComparer.Ordinal);
    private readonly ReadyJobs _ready = new();
    private readonly SortedSet<Entry> _delayed = new(DueOrder.Instance);
    private readonly Queue<JobId> _finished = new();
    private readonly int _maxFinishedJobs;
    private long _claims;

    /// <summary>How many jobs, finished or not, the store holds now (for tests).</summary>
    internal int Count
    {
        get
        {
            lock (_gate)
            {
                return _jobs.Count;
            }
        }
    }

    /// <summary>How many finished jobs the store keeps by default: the oldest are forgotten beyond it.</summary>
    public const int DefaultMaxFinishedJobs = 10_000;

    /// <summary>Creates an empty store that keeps at most <see cref="DefaultMaxFinishedJobs"/> finished jobs.</summary>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public InMemoryJobStore(TimeProvider? timeProvider = null)
        : this(timeProvider, DefaultMaxFinishedJobs)
    {
    }

    /// <summary>Creates an empty store.</summary>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="maxFinishedJobs">
    /// How many finished jobs to keep for reading, listing and awaiting: beyond it the jobs that
    /// finished first are forgotten (as <see cref="CleanupAsync"/> would), so that a long-running
    /// process's memory stays bounded. Unfinished jobs are never forgotten. A dependent job that
    /// starts after its parent was forgotten no longer sees the parent's result.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFinishedJobs"/> is negative.</exception>
    public InMemoryJobStore(TimeProvider? timeProvider, int maxFinishedJobs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxFinishedJobs);
        _time = timeProvider ?? TimeProvider.System;
        _maxFinishedJobs = maxFinishedJobs;
    }

    /// <summary>A parent's status by id, for <see cref="JobDependencies"/>; made once, not per insert.</summary>
    private Func<JobId, JobStatus?>? _statusOf;

    /// <inheritdoc />
    public ValueTask<JobInsertResult> InsertAsync(JobSnapshot job, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (stored, created) = Insert(job);
        return new(new JobInsertResult(stored, created));
    }

    /// <summary>The insert as the manager in this process calls it: no result object.</summary>
    internal (JobSnapshot Job, bool Created) Insert(JobSnapshot job)
    {
        JobStoreText.ThrowIfNotNew(job);
        lock (_gate)
        {
            return InsertLocked(job);
        }
    }

    /// <summary>Stores a new job; the caller holds the lock.</summary>
    private (JobSnapshot Job, bool Created) InsertLocked(JobSnapshot job)
    {
        ForgetOldestFinished();

        // Most jobs have no key, no cache window and no parents: their id is checked by the add itself
        // (nothing else changed before it), one lookup in a table of every stored job instead of two.
        var plain = job.IdempotencyKey is null && job.CacheResultFor is null && job.DependsOn.Count == 0;
        if (!plain && _jobs.ContainsKey(job.Id))
        {
            throw TakenId(job.Id);
        }

        if (job.IdempotencyKey is { } key && _activeKeys.TryGetValue(key, out var existingId))
        {
            return (Snapshot(_jobs[existingId]), false);
        }

        if (job.CacheResultFor is not null && JobResultCache.Since(job, _time.GetUtcNow()) is not null
            && _completedKeys.TryGetValue(job.IdempotencyKey!, out var cachedId)
            && _jobs.TryGetValue(cachedId, out var cached)
            && JobResultCache.CanServe(job, cached.Job, _time.GetUtcNow()))
        {
            var served = new Entry(JobResultCache.Served(job, cached.Job, _time.GetUtcNow()));
            _jobs.Add(job.Id, served);
            _finished.Enqueue(job.Id);
            return (served.Job, true);
        }

        Entry entry;
        if (job.DependsOn.Count == 0)
        {
            // Most jobs: no parents to evaluate, and no evaluation object to allocate.
            entry = new Entry(job);
        }
        else
        {
            var dependencies = JobDependencies.Evaluate(job, _statusOf ??= id => _jobs.TryGetValue(id, out var parent) ? parent.Job.Status : null, _time.GetUtcNow());
            entry = new Entry(dependencies.Stored);
            foreach (var parentId in dependencies.WaitingOn)
            {
                entry.PendingParents++;
                (_jobs[parentId].Children ??= []).Add(job.Id);
            }
        }

        if (!_jobs.TryAdd(job.Id, entry))
        {
            throw TakenId(job.Id);
        }

        if (entry.Job.Status == JobStatus.Cancelled)
        {
            _finished.Enqueue(job.Id);
        }
        else
        {
            if (job.IdempotencyKey is { } newKey)
            {
                _activeKeys[newKey] = job.Id;
            }

            if (entry.PendingParents == 0)
            {
                Schedule(entry);
            }
        }

        return (Snapshot(entry), true);
    }

    /// <inheritdoc />
    public ValueTask<ClaimResult> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        return new(Claim(request));
    }

    /// <summary>The claim of the store contract: each job with a lease object.</summary>
    internal ClaimResult Claim(ClaimRequest request)
    {
        var claimed = new List<LocalClaim>();
        var nextDue = ClaimLocal(request, claimed);
        if (claimed.Count == 0)
        {
            return new ClaimResult([], nextDue);
        }

        var jobs = new ClaimedJob[claimed.Count];
        for (var i = 0; i < jobs.Length; i++)
        {
            var (pending, claim, expiresAt, startedAt, _) = claimed[i];
            var job = Running(pending, request.Owner, new DateTimeOffset(startedAt, TimeSpan.Zero));
            jobs[i] = new ClaimedJob(job, new JobLease(job.Id, request.Owner, LeaseToken(claim), new DateTimeOffset(expiresAt, TimeSpan.Zero)));
        }

        return new ClaimResult(jobs, nextDue);
    }

    /// <summary>
    /// The engine's claim in this process: each claimed job with its claim number and lease expiry,
    /// added to <paramref name="into"/>, instead of a lease and a claimed-job object per job (the
    /// engine completes with <see cref="Complete"/>). A call that ends before it returns (the engine
    /// claims on a submitter's thread with it).
    /// </summary>
    /// <returns>When the next delayed job is due, if any.</returns>
    internal DateTimeOffset? ClaimLocal(ClaimRequest request, List<LocalClaim> into)
    {
        if (request.MaxCount <= 0)
        {
            return null;
        }

        lock (_gate)
        {
            var now = _time.GetUtcNow();
            while (_delayed.Min is { } due && due.Job.ScheduledAt <= now)
            {
                _delayed.Remove(due);
                _ready.Add(due);
            }

            // One claim number per claim, as the durable stores have one token per claim: a lease is the
            // job's id and the claim. Claims only need to differ within this store: a counter.
            var claim = ++_claims;
            var expiresAt = (now + request.LeaseDuration).UtcTicks;
            var limit = into.Count + request.MaxCount;
            if (request.QueueLimits is null && request.Queues is null)
            {
                // Every ready job may be taken: the first ones in queue order, without enumerating
                // the set (its enumerator allocates a stack per claim).
                while (into.Count < limit && _ready.Min is { } entry)
                {
                    _ready.Remove(entry);
                    Take(entry);
                }
            }
            else
            {
                List<Entry>? taken = null;
                Dictionary<string, int>? perQueue = null;
                foreach (var entry in _ready.Ordered())
                {
                    var queue = entry.Job.Queue;
                    var count = perQueue is not null && perQueue.TryGetValue(queue, out var c) ? c : 0;
                    if (!request.Allows(queue, count))
                    {
                        continue;
                    }

                    (perQueue ??= new(StringComparer.Ordinal))[queue] = count + 1;
                    (taken ??= []).Add(entry);
                    if (taken.Count == request.MaxCount)
                    {
                        break;
                    }
                }

                foreach (var entry in taken ?? [])
                {
                    _ready.Remove(entry);
                    Take(entry);
                }
            }

            void Take(Entry entry)
            {
                var pending = entry.Job;
                entry.StartRun(request.Owner, now.UtcTicks, claim, expiresAt);
                into.Add(new LocalClaim(pending, claim, expiresAt, now.UtcTicks, entry));
            }

            return _delayed.Min?.Job.ScheduledAt;
        }
    }

    /// <inheritdoc />
    public ValueTask<LeaseState> RenewAsync(JobLease lease, DateTimeOffset expiresAt, JobProgress? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!TryGetLeased(lease, out var entry))
            {
                return new(LeaseState.Lost);
            }

            entry.LeaseExpiresAt = expiresAt.UtcTicks;
            if (progress is not null)
            {
                entry.Job = entry.Job with { Progress = progress };
            }

            return new(entry.Job.CancellationRequested ? LeaseState.CancellationRequested : LeaseState.Active);
        }
    }

    /// <inheritdoc />
    public ValueTask<JobWriteResult> CompleteAsync(JobLease lease, JobCompletion completion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(completion);
        cancellationToken.ThrowIfCancellationRequested();
        if (ClaimOf(lease.Token) is not { } claim)
        {
            return new(JobWriteResult.Rejected);
        }

        lock (_gate)
        {
            // The store's lock is re-entrant: the lookup and the write are one step.
            return new(_jobs.TryGetValue(lease.JobId, out var entry) ? Complete(entry, claim, completion) : JobWriteResult.Rejected);
        }
    }

    /// <summary>
    /// Writes an attempt's outcome, fenced by the claim that started it (<see cref="ClaimLocal"/>):
    /// the engine's completion in this process, without a lease object.
    /// </summary>
    /// <param name="record">The claim's <see cref="LocalClaim.Entry"/>: a running job is never removed, so its record is the stored one.</param>
    /// <param name="claim">The claim's number.</param>
    /// <param name="completion">The outcome.</param>
    internal JobWriteResult Complete(object record, long claim, JobCompletion completion)
    {
        var entry = (Entry)record;

        // Read before the lock: the store's lock is held by submits, claims and completions alike.
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (entry.Status != JobStatus.Running || entry.Claim != claim)
            {
                return JobWriteResult.Rejected;
            }

            entry.Claim = 0;
            JobSnapshot job;
            switch (completion.Kind)
            {
                case JobCompletionKind.Retry:
                    job = entry.Job;
                    entry.Job = job with
                    {
                        Status = JobStatus.Pending,
                        Error = completion.Error,
                        AttemptErrors = completion.Error is { } retried ? JobAttemptHistory.Append(job.AttemptErrors, job.Attempt, now, retried) : job.AttemptErrors,
                        ScheduledAt = completion.RetryAt ?? now,
                        Progress = completion.Progress ?? job.Progress,
                        Owner = null,
                    };
                    Schedule(entry);
                    return JobWriteResult.Applied;
                case JobCompletionKind.Release:
                    job = entry.Job;
                    entry.Job = job with { Status = JobStatus.Pending, Attempt = Math.Max(0, job.Attempt - 1), Owner = null, ScheduledAt = completion.RetryAt ?? job.ScheduledAt };
                    Schedule(entry);
                    return JobWriteResult.Applied;
                default:
                    if (entry.Children is null)
                    {
                        // Most jobs have no dependents: nothing to walk, nothing to allocate.
                        entry.RecordOutcome(completion, now);
                        Ended(entry);
                        return JobWriteResult.Applied;
                    }

                    entry.Job = Finished(entry.Job, completion, now);
                    var cancelled = new List<JobId>();
                    Finish(entry, now, cancelled);
                    return new JobWriteResult(true, cancelled);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<JobSnapshot?> GetAsync(JobId id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return new(_jobs.TryGetValue(id, out var entry) ? Snapshot(entry) : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var items = _jobs.Values
                .Where(e => (query.After is not { } after || e.Job.Id < after) && JobListing.Matches(query, e.Job))
                .OrderByDescending(e => e.Job.Id)
                .Take(query.PageSize + 1)
                .Select(Snapshot)
                .ToList();
            return new(JobListing.PageFromOneMore(items, query.PageSize));
        }
    }

    /// <inheritdoc />
    public ValueTask<JobCancelResult> CancelAsync(JobId id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_jobs.TryGetValue(id, out var entry))
            {
                return new(new JobCancelResult(JobCancelOutcome.NotFound, []));
            }

            switch (entry.Job.Status)
            {
                case JobStatus.Pending:
                    var now = _time.GetUtcNow();
                    _ready.Remove(entry);
                    _delayed.Remove(entry);
                    entry.Job = entry.Job with
                    {
                        Status = JobStatus.Cancelled,
                        Error = JobStoreErrors.CancelledBeforeRun,
                        CompletedAt = now,
                    };
                    var cancelled = new List<JobId>();
                    Finish(entry, now, cancelled);
                    return new(new JobCancelResult(JobCancelOutcome.Cancelled, cancelled));
                case JobStatus.Running:
                    entry.Job = entry.Job with { CancellationRequested = true };
                    return new(new JobCancelResult(JobCancelOutcome.Requested, []));
                default:
                    return new(new JobCancelResult(JobCancelOutcome.AlreadyFinished, []));
            }
        }
    }

    /// <summary>A claim number as a lease's token (the number in the first eight bytes, the rest zero).</summary>
    internal static Guid LeaseToken(long claim)
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes, claim);
        return new Guid(bytes);
    }

    /// <summary>The claim number a lease's token holds, or <see langword="null"/> for a token this store did not make.</summary>
    private static long? ClaimOf(Guid token)
    {
        Span<byte> bytes = stackalloc byte[16];
        token.TryWriteBytes(bytes);
        var claim = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes);
        return claim > 0 && System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]) == 0 ? claim : null;
    }

    private bool TryGetLeased(JobLease lease, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Entry? entry)
        => _jobs.TryGetValue(lease.JobId, out entry)
            && entry.Status == JobStatus.Running
            && entry.Claim != 0
            && ClaimOf(lease.Token) == entry.Claim;

    private void Schedule(Entry entry)
    {
        // A job due when it was made (most) is due now: no clock read for it.
        var job = entry.Job;
        if (job.ScheduledAt > job.CreatedAt && job.ScheduledAt > _time.GetUtcNow())
        {
            _delayed.Add(entry);
        }
        else
        {
            _ready.Add(entry);
        }
    }

    // Called with the lock held once a job is terminal: frees its idempotency key and moves its
    // dependents on, cancelling those whose policy says so (transitively).
    private void Finish(Entry entry, DateTimeOffset now, List<JobId> cancelled)
    {
        var stack = new Stack<Entry>();
        stack.Push(entry);
        while (stack.TryPop(out var finished))
        {
            Ended(finished);
            var children = finished.Children;
            finished.Children = null;
            if (children is null)
            {
                continue;
            }

            foreach (var childId in children)
            {
                if (!_jobs.TryGetValue(childId, out var child) || child.Job.Status != JobStatus.Pending)
                {
                    continue;
                }

                child.PendingParents--;
                if (finished.Job.Status != JobStatus.Completed && child.Job.OnParentFailure == DependencyFailureBehavior.Cancel)
                {
                    _ready.Remove(child);
                    _delayed.Remove(child);
                    child.Job = child.Job with { Status = JobStatus.Cancelled, Error = JobStoreErrors.ParentFailed(finished.Job.Id, finished.Job.Status), CompletedAt = now };
                    cancelled.Add(childId);
                    stack.Push(child);
                }
                else if (child.PendingParents == 0)
                {
                    Schedule(child);
                }
            }
        }
    }

    /// <summary>A running job with its final outcome applied.</summary>
    private static JobSnapshot Finished(JobSnapshot job, JobCompletion completion, DateTimeOffset now) => job with
    {
        Status = completion.ResultingStatus,
        Result = completion.Result,
        Error = completion.Error,
        AttemptErrors = completion.Error is { } error ? JobAttemptHistory.Append(job.AttemptErrors, job.Attempt, now, error) : job.AttemptErrors,
        Artifacts = completion.Artifacts,
        Progress = completion.Progress ?? job.Progress,
        CompletedAt = now,
    };
}
