using JobRuntime.Storage;
using Xunit;

namespace JobRuntime.Testing;

/// <summary>The contract, continued: <c>InsertManyAsync</c> (all or nothing), batch membership and <c>CountAsync</c>.</summary>
public abstract partial class JobStoreConformanceTests
{
    /// <summary>A batch as the runtime stores it: members with the head's id as their batch, then the head waiting for them all.</summary>
    protected (JobSnapshot[] Members, JobSnapshot Head) NewBatch(int members)
    {
        var headId = JobId.New(Time.GetUtcNow());
        var jobs = Enumerable.Range(0, members).Select(_ => NewJob() with { BatchId = headId }).ToArray();
        var head = NewJob(type: "head", dependsOn: [.. jobs.Select(j => j.Id)], onParentFailure: DependencyFailureBehavior.Run) with { Id = headId, BatchId = headId };
        return (jobs, head);
    }

    /// <summary><c>InsertManyAsync</c>: every job stored in order with its batch; the head waits for its members; listing by batch leaves the head out.</summary>
    [Fact]
    public async Task InsertManyAsync_StoresEveryJob_TheHeadWaitsForItsMembers_AndListingByBatchLeavesItOut()
    {
        var (members, head) = NewBatch(3);

        var results = await Store.InsertManyAsync([.. members, head]);

        Assert.Equal([.. members.Select(j => j.Id), head.Id], results.Select(r => r.Job.Id));
        Assert.All(results, r => Assert.True(r.Created));
        Assert.Equal(JobWaitReason.Dependencies, results[^1].Job.WaitReason);
        var stored = (await Store.GetAsync(head.Id))!;
        Assert.True(stored.IsBatchHead);
        Assert.Equal(3, stored.DependsOn.Count);
        Assert.Equal(head.Id, (await Store.GetAsync(members[1].Id))!.BatchId);
        var listed = await Store.ListAsync(new JobQuery { BatchId = head.Id });
        Assert.Equal(members.Select(j => j.Id).OrderDescending(), listed.Items.Select(j => j.Id));
        Assert.Empty((await Store.ListAsync(new JobQuery { BatchId = JobId.New() })).Items);

        // The members run; the head only once all have ended, whatever their outcome.
        var claimed = await Claim();
        Assert.Equal(members.Select(j => j.Id).Order(), claimed.Select(c => c.Job.Id).Order());
        await Store.CompleteAsync(claimed[0].Lease, JobCompletion.Completed("1"));
        await Store.CompleteAsync(claimed[1].Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("E", "no")));
        Assert.Empty(await Claim());
        await Store.CompleteAsync(claimed[2].Lease, JobCompletion.Completed("1"));
        Assert.Equal(head.Id, (await ClaimOne()).Job.Id);
    }

    /// <summary><c>InsertManyAsync</c>: a job refused (an unknown parent, an id already taken) stores none of them.</summary>
    [Fact]
    public async Task InsertManyAsync_OneJobRefused_StoresNone()
    {
        var existing = await Insert(NewJob());
        var (members, head) = NewBatch(3);
        var orphan = members[1] with { DependsOn = [JobId.New()] };

        await Assert.ThrowsAsync<JobNotFoundException>(async () => await Store.InsertManyAsync([members[0], orphan, members[2], head]));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await Store.InsertManyAsync([members[0], members[1], existing with { Attempt = 0, Status = JobStatus.Pending }, head]));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await Store.InsertManyAsync([]));

        Assert.Equal([existing.Id], (await Store.ListAsync(new JobQuery())).Items.Select(j => j.Id));
        Assert.Empty(await Claim().ContinueWith(t => t.Result.Where(c => c.Job.Id != existing.Id).ToList()));
    }

    /// <summary><c>CountAsync</c>: a batch's members counted by status with the unfinished ones' progress; the head and other jobs left out.</summary>
    [Fact]
    public virtual async Task CountAsync_CountsABatchsMembersByStatus_WithTheUnfinishedProgress()
    {
        var statistics = Assert.IsAssignableFrom<IJobStoreStatistics>(Store);
        await Insert(NewJob(type: "outsider"));
        var (members, head) = NewBatch(5);
        await Store.InsertManyAsync([.. members, head]);
        var query = new JobQuery { BatchId = head.Id };
        Assert.Equal(new JobCounts(5, 0, 0, 0, 0, 0, 0), await statistics.CountAsync(query));

        var claimed = (await Claim(10)).Where(c => c.Job.BatchId == head.Id).ToList();
        Assert.Equal(5, claimed.Count);
        await Store.RenewAsync(claimed[0].Lease, Time.GetUtcNow() + Lease, new JobProgress(1, 4));
        await Store.RenewAsync(claimed[1].Lease, Time.GetUtcNow() + Lease, new JobProgress(30, 10));
        await Store.CompleteAsync(claimed[2].Lease, JobCompletion.Completed("1", progress: new JobProgress(1, 2)));
        await Store.CompleteAsync(claimed[3].Lease, JobCompletion.Ended(JobStatus.TimedOut, new JobError("T", "late")));
        await Store.CompleteAsync(claimed[4].Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("E", "no")));

        var counts = await statistics.CountAsync(query);

        // 1/4 and (30/10 capped at) 1 running; finished jobs' progress is not summed.
        Assert.Equal((0L, 2L, 1L, 1L, 0L, 1L), (counts.Pending, counts.Running, counts.Completed, counts.Failed, counts.Cancelled, counts.TimedOut));
        Assert.Equal(1.25, counts.UnfinishedProgress, 6);
        Assert.Equal(5, counts.Total);
        Assert.Equal(2, (await statistics.CountAsync(query with { Statuses = [JobStatus.Failed, JobStatus.TimedOut] })).Finished);
        Assert.Equal(1, (await statistics.CountAsync(new JobQuery { Type = "outsider" })).Running);
    }

    /// <summary><c>InsertAsync</c>/<c>InsertManyAsync</c>: a job's own retry timing is read back as it was given.</summary>
    [Fact]
    public async Task InsertAsync_AJobsRetryTiming_IsReadBack()
    {
        var timing = new JobRetryTiming(RetryBackoff.Linear, TimeSpan.FromSeconds(7), TimeSpan.FromMinutes(3), 0.35);
        var single = await Insert(NewJob() with { Retry = timing });
        var many = await Store.InsertManyAsync([NewJob() with { Retry = timing }, NewJob()]);

        Assert.Equal(timing, (await Store.GetAsync(single.Id))!.Retry);
        Assert.Equal(timing, (await Store.GetAsync(many[0].Job.Id))!.Retry);
        Assert.Null((await Store.GetAsync(many[1].Job.Id))!.Retry);
        Assert.Equal(timing, Assert.Single(await Claim(1)).Job.Retry);
    }
}
