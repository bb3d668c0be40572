using JobRuntime.Storage;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore
{
    /// <summary>The most jobs one <c>INSERT … FROM unnest(…)</c> of <see cref="InsertManyAsync(IReadOnlyList{JobSnapshot}, CancellationToken)"/> carries.</summary>
    private const int UnnestChunk = 5000;

    /// <inheritdoc />
    /// <remarks>
    /// One transaction: runs of jobs without parents go in as <c>INSERT … SELECT FROM unnest(…)</c> statements of up
    /// to 5,000 rows, the others one by one (a job with parents locks and links them); a refusal rolls back everything.
    /// </remarks>
    public async ValueTask<IReadOnlyList<JobInsertResult>> InsertManyAsync(IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken = default)
    {
        JobStoreText.ThrowIfNotNewBatch(jobs);
        var seen = new HashSet<JobId>();
        foreach (var job in jobs)
        {
            if (!seen.Add(job.Id))
            {
                throw new ArgumentException($"A job with id {job.Id} is given twice.", nameof(jobs));
            }
        }

        return await InTransactionAsync("store jobs", async tx =>
        {
            var results = new JobInsertResult[jobs.Count];
            var i = 0;
            while (i < jobs.Count)
            {
                if (GoesInBatch(jobs[i]))
                {
                    var end = i;
                    while (end < jobs.Count && end - i < UnnestChunk && GoesInBatch(jobs[end]))
                    {
                        end++;
                    }

                    var chunk = new JobSnapshot[end - i];
                    for (var k = 0; k < chunk.Length; k++)
                    {
                        chunk[k] = jobs[i + k];
                    }

                    // The statement notifies the chunk's queues itself (delivered when the transaction commits).
                    var outcomes = await InsertUnnestAsync(tx, chunk).ConfigureAwait(false);
                    for (var k = 0; k < outcomes.Length; k++)
                    {
                        results[i + k] = outcomes[k].Result ?? throw outcomes[k].Rethrow();
                    }

                    i = end;
                }
                else
                {
                    var result = await InsertCoreAsync(tx, jobs[i]).ConfigureAwait(false);
                    if (result.Created && result.Job.Status == JobStatus.Pending && result.Job.WaitReason != JobWaitReason.Dependencies)
                    {
                        await NotifyJobsAvailableAsync(tx, result.Job.Queue).ConfigureAwait(false);
                    }

                    results[i++] = result;
                }
            }

            return (IReadOnlyList<JobInsertResult>)results;
        }, cancellationToken).ConfigureAwait(false);
    }
}
