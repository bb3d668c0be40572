using JobRuntime.Storage;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore
{
    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<JobInsertResult>> InsertManyAsync(IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken = default)
    {
        JobStoreText.ThrowIfNotNewBatch(jobs);
        return await WriteAsync("store jobs", c => InsertMany(c, jobs), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One transaction (the writer's batch): every job, or none.</summary>
    private static IReadOnlyList<JobInsertResult> InsertMany(WriteContext c, IReadOnlyList<JobSnapshot> jobs)
    {
        // Everything that can refuse is checked before anything changes (the writer's rule: a refused write changes nothing).
        var coming = new HashSet<JobId>();
        foreach (var job in jobs)
        {
            if (!coming.Add(job.Id) || Status(c, job.Id) is not null)
            {
                throw new ArgumentException($"A job with id {job.Id} already exists.", nameof(jobs));
            }

            foreach (var parent in job.DependsOn)
            {
                if (!coming.Contains(parent) && Status(c, parent) is null)
                {
                    throw new JobNotFoundException(parent);
                }
            }
        }

        var results = new JobInsertResult[jobs.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = Insert(c, jobs[i]);
        }

        return results;
    }
}
