using JobRuntime.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace JobRuntime.Testing;

/// <summary>The contract, continued: idempotency keys, dependencies, cancellation, deletion, retention, listing, concurrent claims.</summary>
public abstract partial class JobStoreConformanceTests
{
    /// <summary><c>InsertAsync</c>: same idempotency key while unfinished; returns the first job.</summary>
    [Fact]
    public async Task InsertAsync_SameIdempotencyKeyWhileUnfinished_ReturnsTheFirstJob()
    {
        var first = await Insert(NewJob(key: "export-42"));

        var second = await Store.InsertAsync(NewJob(key: "export-42"));

        Assert.False(second.Created);
        Assert.Equal(first.Id, second.Job.Id);
        Assert.Single((await Store.ListAsync(new JobQuery())).Items);
    }

    /// <summary><c>InsertAsync</c>: same idempotency key after finish; creates anew job.</summary>
    [Fact]
    public async Task InsertAsync_SameIdempotencyKeyAfterFinish_CreatesANewJob()
    {
        var first = await Insert(NewJob(key: "k"));
        var claimed = await ClaimOne();
        await Store.CompleteAsync(claimed.Lease, JobCompletion.Completed("1"));

        var second = await Store.InsertAsync(NewJob(key: "k"));

        Assert.True(second.Created);
        Assert.NotEqual(first.Id, second.Job.Id);
    }

    /// <summary><c>InsertAsync</c>: a cached result within its window serves a new job, completed at once; outside it, or of another type, or failed, it does not.</summary>
    [Fact]
    public async Task InsertAsync_CacheResultFor_ServesARecentCompletedResult_OnlyWithinTheWindow()
    {
        var window = TimeSpan.FromMinutes(5);
        var original = await Insert(NewJob(key: "report-7"));
        var claimed = await ClaimOne();
        Assert.True((await Store.CompleteAsync(claimed.Lease, JobCompletion.Completed("{\"rows\":12}", progress: new JobProgress(12, 12)))).Accepted);
        Time.Advance(TimeSpan.FromMinutes(4));

        var served = await Store.InsertAsync(NewJob(key: "report-7") with { CacheResultFor = window });

        Assert.True(served.Created);
        Assert.NotEqual(original.Id, served.Job.Id);
        Assert.Equal(JobStatus.Completed, served.Job.Status);
        Assert.Equal("{\"rows\":12}", served.Job.Result);
        Assert.Equal(original.Id, served.Job.CachedFrom);
        var stored = (await Store.GetAsync(served.Job.Id))!;
        Assert.Equal((JobStatus.Completed, original.Id, "{\"rows\":12}", 0), (stored.Status, stored.CachedFrom, stored.Result, stored.Attempt));
        Assert.Equal(Time.GetUtcNow(), stored.CompletedAt);
        Assert.Empty(await Claim());

        // Another type with the same key, and the same type without asking for the cache, run.
        Assert.Equal(JobStatus.Pending, (await Store.InsertAsync(NewJob(type: "other", key: "report-7") with { CacheResultFor = window })).Job.Status);
        var plain = await Store.InsertAsync(NewJob(key: "plain-key"));
        Assert.Equal(JobStatus.Pending, plain.Job.Status);
        foreach (var job in await Claim())
        {
            await Store.CompleteAsync(job.Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("E", "no")));
        }

        // Out of the window: runs again. A failed job's result is never reused.
        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(JobStatus.Pending, (await Store.InsertAsync(NewJob(key: "report-7") with { CacheResultFor = window })).Job.Status);
        Assert.Equal(JobStatus.Pending, (await Store.InsertAsync(NewJob(type: "other", key: "report-7-failed") with { CacheResultFor = window })).Job.Status);
    }

    /// <summary><c>InsertAsync</c>: unknown parent; throws.</summary>
    [Fact]
    public async Task InsertAsync_UnknownParent_Throws()
        => await Assert.ThrowsAsync<JobNotFoundException>(async () => await Store.InsertAsync(NewJob(dependsOn: [JobId.New()])));

    /// <summary><c>ClaimAsync</c>: dependent; waits until every parent completed.</summary>
    [Fact]
    public async Task ClaimAsync_Dependent_WaitsUntilEveryParentCompleted()
    {
        var a = await Insert(NewJob());
        var b = await Insert(NewJob());
        var child = await Insert(NewJob(dependsOn: [a.Id, b.Id]));
        Assert.Equal(JobWaitReason.Dependencies, child.WaitReason);

        var parents = await Claim(10);
        Assert.Equal(2, parents.Count);
        await Store.CompleteAsync(parents[0].Lease, JobCompletion.Completed("1"));
        Assert.Empty(await Claim());
        Assert.Equal(JobWaitReason.Dependencies, (await Store.GetAsync(child.Id))!.WaitReason);

        await Store.CompleteAsync(parents[1].Lease, JobCompletion.Completed("2"));
        Assert.Equal(child.Id, (await ClaimOne()).Job.Id);
    }

    /// <summary><c>CompleteAsync</c>: parent fails; cancels dependents transitively.</summary>
    [Fact]
    public async Task CompleteAsync_ParentFails_CancelsDependentsTransitively()
    {
        var parent = await Insert(NewJob());
        var child = await Insert(NewJob(dependsOn: [parent.Id]));
        var grandChild = await Insert(NewJob(dependsOn: [child.Id]));
        var claimed = await ClaimOne();

        var write = await Store.CompleteAsync(claimed.Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("E", "x")));

        Assert.Equal(new[] { child.Id, grandChild.Id }.Order(), write.CancelledDependents.Order());
        var c = (await Store.GetAsync(child.Id))!;
        Assert.Equal(JobStatus.Cancelled, c.Status);
        Assert.Equal("DependencyFailed", c.Error!.Type);
        Assert.Equal(JobStatus.Cancelled, (await Store.GetAsync(grandChild.Id))!.Status);
        Assert.Empty(await Claim());
    }

    /// <summary><c>CompleteAsync</c>: parent fails with run behaviour; runs the dependent.</summary>
    [Fact]
    public async Task CompleteAsync_ParentFailsWithRunBehaviour_RunsTheDependent()
    {
        var parent = await Insert(NewJob());
        var child = await Insert(NewJob(dependsOn: [parent.Id], onParentFailure: DependencyFailureBehavior.Run));
        var claimed = await ClaimOne();

        await Store.CompleteAsync(claimed.Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("E", "x")));

        Assert.Equal(child.Id, (await ClaimOne()).Job.Id);
    }

    /// <summary><c>InsertAsync</c>: parent already failed; cancels on arrival.</summary>
    [Fact]
    public async Task InsertAsync_ParentAlreadyFailed_CancelsOnArrival()
    {
        var parent = await Insert(NewJob());
        var claimed = await ClaimOne();
        await Store.CompleteAsync(claimed.Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("E", "x")));

        var child = await Insert(NewJob(dependsOn: [parent.Id]));

        Assert.Equal(JobStatus.Cancelled, child.Status);
        Assert.Equal("DependencyFailed", child.Error!.Type);
    }

    /// <summary><c>InsertAsync</c>: parent already completed; is ready.</summary>
    [Fact]
    public async Task InsertAsync_ParentAlreadyCompleted_IsReady()
    {
        var parent = await Insert(NewJob());
        await Store.CompleteAsync((await ClaimOne()).Lease, JobCompletion.Completed("1"));

        var child = await Insert(NewJob(dependsOn: [parent.Id]));

        Assert.Equal(JobWaitReason.None, child.WaitReason);
        Assert.Equal(child.Id, (await ClaimOne()).Job.Id);
    }

    /// <summary><c>CancelAsync</c>: pending; cancels it and its dependents.</summary>
    [Fact]
    public async Task CancelAsync_Pending_CancelsItAndItsDependents()
    {
        var job = await Insert(NewJob());
        var child = await Insert(NewJob(dependsOn: [job.Id]));

        var result = await Store.CancelAsync(job.Id);

        Assert.Equal(JobCancelOutcome.Cancelled, result.Outcome);
        Assert.Equal([child.Id], result.CancelledDependents);
        Assert.Equal(JobStatus.Cancelled, (await Store.GetAsync(job.Id))!.Status);
        Assert.Empty(await Claim());
    }

    /// <summary><c>CancelAsync</c>: delayed pending; never runs.</summary>
    [Fact]
    public async Task CancelAsync_DelayedPending_NeverRuns()
    {
        var job = await Insert(NewJob(delay: TimeSpan.FromMinutes(1)));

        Assert.Equal(JobCancelOutcome.Cancelled, (await Store.CancelAsync(job.Id)).Outcome);

        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Empty(await Claim());
    }

    /// <summary><c>CancelAsync</c>: finished or twice; is harmless.</summary>
    [Fact]
    public async Task CancelAsync_FinishedOrTwice_IsHarmless()
    {
        var job = await Insert(NewJob());
        Assert.Equal(JobCancelOutcome.Cancelled, (await Store.CancelAsync(job.Id)).Outcome);

        Assert.Equal(JobCancelOutcome.AlreadyFinished, (await Store.CancelAsync(job.Id)).Outcome);
        Assert.Equal(JobStatus.Cancelled, (await Store.GetAsync(job.Id))!.Status);
    }

    /// <summary><c>CancelAsync</c>: unknown id; is not found.</summary>
    [Fact]
    public async Task CancelAsync_UnknownId_IsNotFound()
        => Assert.Equal(JobCancelOutcome.NotFound, (await Store.CancelAsync(JobId.New())).Outcome);

    /// <summary><c>DeleteAsync</c>: finished job; is gone.</summary>
    [Fact]
    public async Task DeleteAsync_FinishedJob_IsGone()
    {
        var job = await Insert(NewJob());
        await Store.CancelAsync(job.Id);

        Assert.Equal(JobDeleteResult.Deleted, await Store.DeleteAsync(job.Id));
        Assert.Null(await Store.GetAsync(job.Id));
        Assert.Equal(JobDeleteResult.NotFound, await Store.DeleteAsync(job.Id));
    }

    /// <summary><c>DeleteAsync</c>: unfinished job; is kept.</summary>
    [Fact]
    public async Task DeleteAsync_UnfinishedJob_IsKept()
    {
        var job = await Insert(NewJob());

        Assert.Equal(JobDeleteResult.NotFinished, await Store.DeleteAsync(job.Id));
        Assert.NotNull(await Store.GetAsync(job.Id));
    }

    /// <summary><c>CleanupAsync</c>: removes only old finished jobs.</summary>
    [Fact]
    public async Task CleanupAsync_RemovesOnlyOldFinishedJobs()
    {
        var old = await Insert(NewJob());
        await Store.CancelAsync(old.Id);
        Time.Advance(TimeSpan.FromHours(2));
        var recent = await Insert(NewJob());
        await Store.CancelAsync(recent.Id);
        var pending = await Insert(NewJob());

        var removed = await Store.CleanupAsync(Time.GetUtcNow() - TimeSpan.FromHours(1));

        Assert.Equal(1, removed);
        Assert.Null(await Store.GetAsync(old.Id));
        Assert.NotNull(await Store.GetAsync(recent.Id));
        Assert.NotNull(await Store.GetAsync(pending.Id));
    }

    /// <summary><c>ListAsync</c>: filters and pages newest first.</summary>
    [Fact]
    public async Task ListAsync_FiltersAndPagesNewestFirst()
    {
        var ids = new List<JobId>();
        for (var i = 0; i < 7; i++)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            ids.Add((await Insert(NewJob(type: i % 2 == 0 ? "even" : "odd", tags: i == 3 ? ["special"] : null))).Id);
        }

        var page1 = await Store.ListAsync(new JobQuery { Type = "even", PageSize = 2 });
        Assert.Equal([ids[6], ids[4]], page1.Items.Select(j => j.Id));
        Assert.NotNull(page1.NextCursor);
        var page2 = await Store.ListAsync(new JobQuery { Type = "even", PageSize = 2, After = page1.NextCursor });
        Assert.Equal([ids[2], ids[0]], page2.Items.Select(j => j.Id));
        Assert.Null(page2.NextCursor);

        Assert.Equal([ids[3]], (await Store.ListAsync(new JobQuery { Tag = "special" })).Items.Select(j => j.Id));
        Assert.Equal(7, (await Store.ListAsync(new JobQuery { Statuses = [JobStatus.Pending] })).Items.Count);
        Assert.Empty((await Store.ListAsync(new JobQuery { Statuses = [JobStatus.Completed] })).Items);
        var from = Time.GetUtcNow() - TimeSpan.FromSeconds(1.5);
        Assert.Equal([ids[6], ids[5]], (await Store.ListAsync(new JobQuery { CreatedFrom = from })).Items.Select(j => j.Id));
    }

    /// <summary><c>ListAsync</c>: a job's dependents, while they wait and after the parent finished.</summary>
    [Fact]
    public async Task ListAsync_DependsOn_ListsTheJobsDependents()
    {
        var a = await Insert(NewJob());
        var b = await Insert(NewJob());
        Time.Advance(TimeSpan.FromSeconds(1));
        var onA = await Insert(NewJob(dependsOn: [a.Id]));
        Time.Advance(TimeSpan.FromSeconds(1));
        var onBoth = await Insert(NewJob(dependsOn: [a.Id, b.Id]));

        Assert.Equal([onBoth.Id, onA.Id], (await Store.ListAsync(new JobQuery { DependsOn = a.Id })).Items.Select(j => j.Id));
        Assert.Equal([onBoth.Id], (await Store.ListAsync(new JobQuery { DependsOn = b.Id })).Items.Select(j => j.Id));
        Assert.Empty((await Store.ListAsync(new JobQuery { DependsOn = onA.Id })).Items);

        // Still listed once the parent has finished and released them.
        foreach (var parent in await Claim(2))
        {
            await Store.CompleteAsync(parent.Lease, JobCompletion.Completed("1"));
        }

        Assert.Equal([onBoth.Id, onA.Id], (await Store.ListAsync(new JobQuery { DependsOn = a.Id })).Items.Select(j => j.Id));
    }

    /// <summary><c>ListAsync</c>: invalid page size; throws.</summary>
    [Fact]
    public async Task ListAsync_InvalidPageSize_Throws()
        => await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ListAsync(new JobQuery { PageSize = 0 }));

    /// <summary><c>ClaimAsync</c>: concurrent claimers; never claim ajob twice.</summary>
    [Fact]
    public async Task ClaimAsync_ConcurrentClaimers_NeverClaimAJobTwice()
    {
        const int jobs = 200;
        for (var i = 0; i < jobs; i++)
        {
            await Insert(NewJob());
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var mine = new List<JobId>();
            while (true)
            {
                var batch = await Claim(7, $"w{w}");
                if (batch.Count == 0)
                {
                    return mine;
                }

                mine.AddRange(batch.Select(c => c.Job.Id));
            }
        })));

        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(jobs, all.Count);
        Assert.Equal(jobs, all.Distinct().Count());
    }
}
