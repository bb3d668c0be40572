namespace JobRuntime.Storage;

// How jobs leave the store or end outside a worker's outcome: delete, cleanup, recovery, forgetting the oldest finished jobs.
internal sealed partial class InMemoryJobStore
{
    /// <inheritdoc />
    public ValueTask<JobDeleteResult> DeleteAsync(JobId id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_jobs.TryGetValue(id, out var entry))
            {
                return new(JobDeleteResult.NotFound);
            }

            if (!entry.Job.IsTerminal)
            {
                return new(JobDeleteResult.NotFinished);
            }

            Forget(id);
            return new(JobDeleteResult.Deleted);
        }
    }

    /// <inheritdoc />
    public ValueTask<int> CleanupAsync(DateTimeOffset completedBefore, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var old = _jobs.Values.Where(e => e.Job.IsTerminal && e.Job.CompletedAt < completedBefore).Select(e => e.Job.Id).ToList();
            foreach (var id in old)
            {
                Forget(id);
            }

            return new(old.Count);
        }
    }

    /// <inheritdoc />
    public ValueTask<RecoveryResult> RecoverAsync(Func<JobSnapshot, TimeSpan> retryDelay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retryDelay);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            List<JobSnapshot>? recovered = null;
            var cancelled = new List<JobId>();
            foreach (var entry in _jobs.Values.Where(e => e.Claim != 0 && e.LeaseExpiresAt <= now.UtcTicks).ToList())
            {
                var job = entry.Job;
                entry.Claim = 0;
                if (job.CancellationRequested)
                {
                    // A stored cancel request outlives the worker that never acknowledged it.
                    entry.Job = Failed(job with { Status = JobStatus.Cancelled, CompletedAt = now }, JobStoreErrors.CancelledWorkerStopped(job), now);
                    Finish(entry, now, cancelled);
                }
                else if (job.Attempt < job.MaxAttempts)
                {
                    entry.Job = Failed(job with { Status = JobStatus.Pending, ScheduledAt = now + retryDelay(job), Owner = null }, JobStoreErrors.LeaseExpired(job), now);
                    Schedule(entry);
                }
                else
                {
                    entry.Job = Failed(job with { Status = JobStatus.Failed, CompletedAt = now }, JobStoreErrors.LeaseExpired(job), now);
                    Finish(entry, now, cancelled);
                }

                (recovered ??= []).Add(Snapshot(entry));
            }

            return new(recovered is null && cancelled.Count == 0 ? RecoveryResult.Empty : new RecoveryResult(recovered ?? [], cancelled));
        }
    }

    /// <summary>
    /// Forgets the jobs that finished first while more than the limit are kept. Run at each insert
    /// (only new jobs make the store grow), so the store holds at most the limit plus the jobs
    /// finished since the last insert.
    /// </summary>
    private void ForgetOldestFinished()
    {
        while (_finished.Count > _maxFinishedJobs)
        {
            // Deleted or cleaned up already: nothing to do. A finished job never runs again, so an id
            // in the queue is a finished job's for as long as it is stored.
            Forget(_finished.Dequeue());
        }
    }

    /// <summary>
    /// A job ended: its idempotency key may be used again, and it is in line to be forgotten — the oldest
    /// finished jobs beyond the limit are forgotten now, not at the next submit (a burst's finished jobs
    /// would otherwise all stay in memory until then).
    /// </summary>
    private void Ended(Entry entry)
    {
        _finished.Enqueue(entry.Stable.Id);
        if (entry.Stable.IdempotencyKey is { } key)
        {
            if (_activeKeys.TryGetValue(key, out var holder) && holder == entry.Stable.Id)
            {
                _activeKeys.Remove(key);
            }

            if (entry.Job is { Status: JobStatus.Completed, CachedFrom: null })
            {
                _completedKeys[key] = entry.Stable.Id;
            }
        }

        ForgetOldestFinished();
    }

    /// <summary>Removes a job, and the result-cache entry that points at it.</summary>
    private void Forget(JobId id)
    {
        if (_jobs.Remove(id, out var gone) && gone.Stable.IdempotencyKey is { } key && _completedKeys.TryGetValue(key, out var cached) && cached == id)
        {
            _completedKeys.Remove(key);
        }
    }

    /// <summary>The job with an attempt's error set and added to its history.</summary>
    private static JobSnapshot Failed(JobSnapshot job, JobError error, DateTimeOffset now)
        => job with { Error = error, AttemptErrors = JobAttemptHistory.Append(job.AttemptErrors, job.Attempt, now, error) };
}
