namespace JobRuntime.Storage;

/// <summary>The in-memory store's runs: claims (the contract's and the engine's own), lease renewals and outcomes.</summary>
internal sealed partial class InMemoryJobStore
{
    /// <inheritdoc />
    public ValueTask<ClaimResult> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        // The store contract's claim: the engine's own (ClaimLocal), each job then given a running snapshot and a lease object.
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var claimed = new List<LocalClaim>();
        var nextDue = ClaimLocal(request, claimed);
        if (claimed.Count == 0)
        {
            return new(new ClaimResult([], nextDue));
        }

        var jobs = new ClaimedJob[claimed.Count];
        for (var i = 0; i < jobs.Length; i++)
        {
            var (pending, claim, expiresAt, startedAt, _) = claimed[i];
            var job = Running(pending, request.Owner, new DateTimeOffset(startedAt, TimeSpan.Zero));
            jobs[i] = new ClaimedJob(job, new JobLease(job.Id, request.Owner, LeaseToken(claim), new DateTimeOffset(expiresAt, TimeSpan.Zero)));
        }

        return new(new ClaimResult(jobs, nextDue));
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
    internal JobWriteResult Complete(object record, long claim, JobCompletion completion) => Write(record, claim, completion.Kind, completion);

    /// <summary>
    /// Writes an attempt that completed with nothing to keep but its result (no artifacts, no progress
    /// reported), fenced like <see cref="Complete(object, long, JobCompletion)"/>: the store keeps the
    /// result's JSON as the outcome, and makes the <see cref="JobCompletion"/> only if the job is read.
    /// </summary>
    /// <param name="record">The claim's <see cref="LocalClaim.Entry"/>.</param>
    /// <param name="claim">The claim's number.</param>
    /// <param name="result">The result JSON.</param>
    internal JobWriteResult Succeeded(object record, long claim, string result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Write(record, claim, JobCompletionKind.Completed, result);
    }

    /// <summary>The one write of an attempt's outcome, whichever form it came in (the store contract's and the engine's).</summary>
    /// <param name="record">The store's record of the job.</param>
    /// <param name="claim">The claim's number.</param>
    /// <param name="kind">What happened.</param>
    /// <param name="outcome">The <see cref="JobCompletion"/>, or (<see cref="JobCompletionKind.Completed"/> only) the result JSON.</param>
    private JobWriteResult Write(object record, long claim, JobCompletionKind kind, object outcome)
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
            var completion = outcome as JobCompletion;
            switch (kind)
            {
                case JobCompletionKind.Retry:
                    job = entry.Job;
                    entry.Job = job with
                    {
                        Status = JobStatus.Pending,
                        Error = completion!.Error,
                        AttemptErrors = completion.Error is { } retried ? JobAttemptHistory.Append(job.AttemptErrors, job.Attempt, now, retried) : job.AttemptErrors,
                        ScheduledAt = completion.RetryAt ?? now,
                        Progress = completion.Progress ?? job.Progress,
                        Owner = null,
                    };
                    Schedule(entry);
                    return JobWriteResult.Applied;
                case JobCompletionKind.Release:
                    job = entry.Job;
                    entry.Job = job with { Status = JobStatus.Pending, Attempt = Math.Max(0, job.Attempt - 1), Owner = null, ScheduledAt = completion!.RetryAt ?? job.ScheduledAt };
                    Schedule(entry);
                    return JobWriteResult.Applied;
                default:
                    if (entry.Children is null)
                    {
                        // Most jobs have no dependents: nothing to walk, nothing to allocate.
                        entry.RecordOutcome(outcome, now);
                        Ended(entry);
                        return JobWriteResult.Applied;
                    }

                    entry.Job = Finished(entry.Job, outcome, now);
                    var cancelled = new List<JobId>();
                    Finish(entry, now, cancelled);
                    return new JobWriteResult(true, cancelled);
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
}
