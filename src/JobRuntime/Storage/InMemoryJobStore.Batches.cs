namespace JobRuntime.Storage;

internal sealed partial class InMemoryJobStore
{
    /// <inheritdoc />
    public ValueTask<IReadOnlyList<JobInsertResult>> InsertManyAsync(IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken = default)
    {
        JobStoreText.ThrowIfNotNewBatch(jobs);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return new(InsertManyLocked(jobs));
        }
    }

    /// <summary>Stores jobs all or none (a batch, a recurring occurrence's jobs); the caller holds the lock.</summary>
    private JobInsertResult[] InsertManyLocked(IReadOnlyList<JobSnapshot> jobs)
    {
        // All or nothing: whatever can refuse is checked before any job is stored (a job may name an earlier one as parent).
        var coming = new HashSet<JobId>();
        foreach (var job in jobs)
        {
            if (_jobs.ContainsKey(job.Id) || coming.Contains(job.Id))
            {
                throw TakenId(job.Id, nameof(jobs));
            }

            foreach (var parent in job.DependsOn)
            {
                if (!_jobs.ContainsKey(parent) && !coming.Contains(parent))
                {
                    throw new JobNotFoundException(parent);
                }
            }

            coming.Add(job.Id);
        }

        var results = new JobInsertResult[jobs.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var (stored, created) = InsertLocked(jobs[i]);
            results[i] = new JobInsertResult(stored, created);
        }

        return results;
    }
}
