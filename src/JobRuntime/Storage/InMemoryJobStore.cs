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

    /// <summary>A running job with its final outcome applied: a <see cref="JobCompletion"/>, or the result JSON of a plain success.</summary>
    private static JobSnapshot Finished(JobSnapshot job, object outcome, DateTimeOffset now)
    {
        var completion = outcome as JobCompletion ?? JobCompletion.Completed((string)outcome);
        return Finished(job, completion, now);
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
