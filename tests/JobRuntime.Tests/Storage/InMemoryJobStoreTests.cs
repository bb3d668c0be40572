using JobRuntime.Storage;
using JobRuntime.Testing;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Tests.Storage;

public sealed class InMemoryJobStoreTests : JobStoreConformanceTests
{
    protected override Task<IJobStore> CreateStore(TimeProvider timeProvider) => Task.FromResult<IJobStore>(new InMemoryJobStore(timeProvider));

    /// <summary>
    /// Jobs ready in claim order take the store's fast lane, others its sorted set: claims still come out by
    /// priority, then run time, then age, with cancelled jobs from the middle of the lane left out, whether one
    /// at a time or by queue.
    /// </summary>
    [Fact]
    public async Task ClaimOrder_HoldsAcrossTheLaneAndTheSortedSet_WithJobsCancelledFromTheMiddle()
    {
        var a = await Insert(NewJob());
        var b = await Insert(NewJob());
        var late = await Insert(NewJob(delay: TimeSpan.FromSeconds(5)));
        var c = await Insert(NewJob());
        var urgent = await Insert(NewJob(priority: 5));
        var d = await Insert(NewJob(queue: "other"));
        await Store.CancelAsync(b.Id);
        Time.Advance(TimeSpan.FromSeconds(10));
        var e = await Insert(NewJob());

        // The delayed job, due now, runs after the jobs due before it and before the one submitted after it.
        Assert.Equal(urgent.Id, (await ClaimOne()).Job.Id);
        Assert.Equal([a.Id, c.Id, d.Id], (await Claim(3)).Select(j => j.Job.Id));
        Assert.Equal([late.Id], (await Store.ClaimAsync(new ClaimRequest("w", 5, TimeSpan.FromMinutes(1)) { QueueLimits = new Dictionary<string, int> { ["other"] = 1, ["default"] = 1 } })).Jobs.Select(j => j.Job.Id));
        Assert.Equal([e.Id], (await Claim()).Select(j => j.Job.Id));
    }

    /// <summary>
    /// The engine's claims in this process carry a claim number instead of a lease object: an outcome is
    /// written only with the claim that started the attempt, and a lease made from it works through the
    /// store contract as any other (renewal, completion), while a token this store never made is refused.
    /// </summary>
    [Fact]
    public async Task LocalClaims_FenceOutcomesByTheirClaimNumber_AndTheirLeasesWorkThroughTheContract()
    {
        var store = (InMemoryJobStore)Store;
        var first = await Insert(NewJob());
        var second = await Insert(NewJob());
        var claimed = new List<InMemoryJobStore.LocalClaim>();
        store.ClaimLocal(new ClaimRequest("w", 1, TimeSpan.FromMinutes(1)), claimed);
        store.ClaimLocal(new ClaimRequest("w", 1, TimeSpan.FromMinutes(1)), claimed);
        Assert.Equal([first.Id, second.Id], claimed.Select(c => c.Pending.Id));
        Assert.NotEqual(claimed[0].Claim, claimed[1].Claim);

        // A claim hands over the job as it waited; the store reads it as running, and the running snapshot made
        // from the claim is the same.
        var running = (await Store.GetAsync(first.Id))!;
        Assert.Equal((JobStatus.Running, 1, "w"), (running.Status, running.Attempt, running.Owner));
        Assert.Equal(running, InMemoryJobStore.Running(claimed[0].Pending, "w", new DateTimeOffset(claimed[0].StartedAt, TimeSpan.Zero)));

        // Another claim's number, a foreign token: refused, the job still runs.
        Assert.False(store.Complete(claimed[0].Entry, claimed[1].Claim, JobCompletion.Completed("1")).Accepted);
        var foreign = new JobLease(first.Id, "w", Guid.NewGuid(), Time.GetUtcNow().AddMinutes(1));
        Assert.False((await Store.CompleteAsync(foreign, JobCompletion.Completed("1"))).Accepted);
        Assert.Equal(JobStatus.Running, (await Store.GetAsync(first.Id))!.Status);

        // Its own claim: written once.
        Assert.True(store.Complete(claimed[0].Entry, claimed[0].Claim, JobCompletion.Completed("7")).Accepted);
        Assert.False(store.Complete(claimed[0].Entry, claimed[0].Claim, JobCompletion.Completed("8")).Accepted);
        Assert.Equal("7", (await Store.GetAsync(first.Id))!.Result);

        // A lease made from a claim (as a run renews) is the contract's lease for that attempt.
        var lease = new JobLease(second.Id, "w", InMemoryJobStore.LeaseToken(claimed[1].Claim), new DateTimeOffset(claimed[1].ExpiresAt, TimeSpan.Zero));
        Assert.Equal(LeaseState.Active, await Store.RenewAsync(lease, Time.GetUtcNow().AddMinutes(5), null));
        Assert.True((await Store.CompleteAsync(lease, JobCompletion.Completed("2"))).Accepted);
        Assert.Equal(JobStatus.Completed, (await Store.GetAsync(second.Id))!.Status);
    }

    /// <summary>
    /// A success with nothing but its result (the engine's common case in memory) is kept as the result's JSON,
    /// fenced by its claim like any outcome, and reads exactly as the same success written as a completion —
    /// for a job with dependents too, which become ready.
    /// </summary>
    [Fact]
    public async Task SucceededWithItsResultAlone_IsFencedByItsClaim_AndReadsAsTheSameCompletionWould()
    {
        var store = (InMemoryJobStore)Store;
        var plain = await Insert(NewJob());
        var written = await Insert(NewJob());
        var child = await Insert(NewJob(dependsOn: [plain.Id]));
        var claimed = new List<InMemoryJobStore.LocalClaim>();
        store.ClaimLocal(new ClaimRequest("w", 1, TimeSpan.FromMinutes(1)), claimed);
        store.ClaimLocal(new ClaimRequest("w", 1, TimeSpan.FromMinutes(1)), claimed);
        Assert.Equal([plain.Id, written.Id], claimed.Select(c => c.Pending.Id));
        Time.Advance(TimeSpan.FromSeconds(3));

        Assert.Throws<ArgumentNullException>(() => store.Succeeded(claimed[0].Entry, claimed[0].Claim, null!));
        Assert.False(store.Succeeded(claimed[0].Entry, claimed[1].Claim, "1").Accepted);
        Assert.Equal(JobStatus.Running, (await Store.GetAsync(plain.Id))!.Status);
        Assert.True(store.Succeeded(claimed[0].Entry, claimed[0].Claim, "{\"n\":7}").Accepted);
        Assert.False(store.Succeeded(claimed[0].Entry, claimed[0].Claim, "8").Accepted);
        Assert.True(store.Complete(claimed[1].Entry, claimed[1].Claim, JobCompletion.Completed("{\"n\":7}")).Accepted);

        var a = (await Store.GetAsync(plain.Id))!;
        var b = (await Store.GetAsync(written.Id))!;
        Assert.Equal((JobStatus.Completed, "{\"n\":7}", Time.GetUtcNow()), (a.Status, a.Result, a.CompletedAt));
        Assert.Equal(b with { Id = a.Id, CreatedAt = a.CreatedAt, ScheduledAt = a.ScheduledAt }, a with { DependsOn = b.DependsOn });
        Assert.Equal(JobStatus.Pending, (await Store.GetAsync(child.Id))!.Status);
        Assert.Equal([child.Id], (await Claim()).Select(j => j.Job.Id));
    }

    [Fact]
    public async Task LongRunOfJobs_KeepsAtMostTheLimitOfFinishedJobs_AndForgetsTheOldestFirst()
    {
        await using var runtime = TestRuntime.Create(builder: b => b.UseInMemoryStore(maxFinishedJobs: 1_000));
        var store = (InMemoryJobStore)runtime.Services.GetRequiredService<IJobStore>();
        var first = await runtime.Manager.SubmitAsync(new EchoArgs(0));
        await runtime.Manager.WaitForCompletionAsync(first);

        JobId last = first;
        var largest = 0;
        for (var round = 0; round < 40; round++)
        {
            var ids = new List<JobId>(500);
            for (var i = 0; i < 500; i++)
            {
                ids.Add(await runtime.Manager.SubmitAsync(new EchoArgs(i)));
            }

            foreach (var id in ids)
            {
                await runtime.Manager.WaitForCompletionAsync(id);
            }

            last = ids[^1];
            largest = Math.Max(largest, store.Count);
        }

        // 20,001 jobs ran; the store never held more than the limit plus one round's jobs.
        Assert.InRange(largest, 1_000, 1_000 + 500);
        Assert.Null(await runtime.Manager.GetAsync(first));
        Assert.Equal(JobStatus.Completed, (await runtime.Manager.GetAsync(last))!.Status);
    }

    [Fact]
    public async Task DefaultStore_KeepsTenThousandFinishedJobs_NeverAnUnfinishedOne()
    {
        var store = new InMemoryJobStore();
        var now = DateTimeOffset.UtcNow;
        var pending = new JobSnapshot { Id = JobId.New(now), Type = "t", Queue = "q", Payload = "{}", CreatedAt = now, ScheduledAt = now.AddDays(1) };
        await store.InsertAsync(pending);
        for (var i = 0; i < InMemoryJobStore.DefaultMaxFinishedJobs + 50; i++)
        {
            var job = new JobSnapshot { Id = JobId.New(now), Type = "t", Queue = "q", Payload = "{}", CreatedAt = now, ScheduledAt = now };
            await store.InsertAsync(job);
            await store.CancelAsync(job.Id);
        }

        await store.InsertAsync(new JobSnapshot { Id = JobId.New(now), Type = "t", Queue = "q", Payload = "{}", CreatedAt = now, ScheduledAt = now.AddDays(1) });

        Assert.Equal(InMemoryJobStore.DefaultMaxFinishedJobs + 2, store.Count);
        Assert.Equal(JobStatus.Pending, (await store.GetAsync(pending.Id))!.Status);
        Assert.Throws<ArgumentOutOfRangeException>(() => new InMemoryJobStore(null, -1));
    }
}

/// <summary>The schedule contract on the in-memory store.</summary>
public sealed class InMemoryJobStoreScheduleTests : JobStoreScheduleConformanceTests
{
    protected override Task<IJobStore> CreateStore(TimeProvider timeProvider) => Task.FromResult<IJobStore>(new InMemoryJobStore(timeProvider));
}
