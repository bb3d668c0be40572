using JobRuntime.Storage;

namespace JobRuntime;

/// <summary>The built-in head of a batch without a continuation (<see cref="JobBatch.HeadType"/>): runs once every member has finished and records their counts.</summary>
internal sealed class BatchHeadHandler(IJobManager jobs) : IJobHandler<BatchHeadArgs, JobCounts>
{
    public async ValueTask<JobCounts> ExecuteAsync(BatchHeadArgs args, JobContext context)
    {
        var status = await jobs.GetBatchAsync(context.JobId, context.CancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Job {context.JobId} is not the head of a batch.");
        return new JobCounts(status.Pending, status.Running, status.Completed, status.Failed, status.Cancelled, status.TimedOut, 0);
    }
}

/// <summary>The built-in head's arguments: the batch's size when it was submitted.</summary>
/// <param name="Jobs">How many members the batch has.</param>
internal sealed record BatchHeadArgs(int Jobs);
