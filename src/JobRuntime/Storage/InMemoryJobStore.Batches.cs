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
            // All or nothing: whatever can refuse is checked before any job is stored.
            var coming = new HashSet<JobId>();
            foreach (var job in jobs)
            {
                if (_jobs.ContainsKey(job.Id) || !coming.Add(job.Id))
                {
                    throw new ArgumentException($"A job with id {job.Id} already exists.", nameof(jobs));
                }

                foreach (var parent in job.DependsOn)
                {
                    if (!_jobs.ContainsKey(parent) && !coming.Contains(parent))
                    {
                        throw new JobNotFoundException(parent);
                    }
                }
            }

            var results = new JobInsertResult[jobs.Count];
            for (var i = 0; i < results.Length; i++)
            {
                results[i] = InsertLocked(jobs[i]);
            }

            return new(results);
        }
    }
}
