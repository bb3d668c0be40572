using JobRuntime.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace JobRuntime.Testing;

/// <summary>The contract, continued: outcomes, lease renewals and recovery.</summary>
public abstract partial class JobStoreConformanceTests
{
    /// <summary><c>CompleteAsync</c>: completed; stores result artifacts and times.</summary>
    [Fact]
    public async Task CompleteAsync_Completed_StoresResultArtifactsAndTimes()
    {
        await Insert(NewJob());
        var claimed = await ClaimOne();
        Time.Advance(TimeSpan.FromSeconds(3));

        var write = await Store.CompleteAsync(claimed.Lease, JobCompletion.Completed("{\"x\":42}", [JobArtifact.Text("log", "hello")], new JobProgress(10, 10, "done")));

        Assert.True(write.Accepted);
        var job = (await Store.GetAsync(claimed.Job.Id))!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal("{\"x\":42}", job.Result);
        Assert.Equal(TimeSpan.FromSeconds(3), job.Duration);
        Assert.Equal(new JobProgress(10, 10, "done"), job.Progress);
        var artifact = Assert.Single(job.Artifacts);
        Assert.Equal("log", artifact.Name);
        Assert.Equal("hello"u8.ToArray(), artifact.Data);
        Assert.True(job.IsTerminal);
    }

    /// <summary><c>CompleteAsync</c>: wrong token; is rejected and changes nothing.</summary>
    [Fact]
    public async Task CompleteAsync_WrongToken_IsRejectedAndChangesNothing()
    {
        await Insert(NewJob());
        var claimed = await ClaimOne();

        var forged = claimed.Lease with { Token = Guid.NewGuid() };
        var write = await Store.CompleteAsync(forged, JobCompletion.Completed("1"));

        Assert.False(write.Accepted);
        Assert.Equal(JobStatus.Running, (await Store.GetAsync(claimed.Job.Id))!.Status);
    }

    /// <summary><c>CompleteAsync</c>: second completion; is rejected.</summary>
    [Fact]
    public async Task CompleteAsync_SecondCompletion_IsRejected()
    {
        await Insert(NewJob());
        var claimed = await ClaimOne();
        Assert.True((await Store.CompleteAsync(claimed.Lease, JobCompletion.Completed("1"))).Accepted);

        var again = await Store.CompleteAsync(claimed.Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("X", "late")));

        Assert.False(again.Accepted);
        var job = (await Store.GetAsync(claimed.Job.Id))!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal("1", job.Result);
    }

    /// <summary><c>CompleteAsync</c>: failed; stores error.</summary>
    [Fact]
    public async Task CompleteAsync_Failed_StoresError()
    {
        await Insert(NewJob());
        var claimed = await ClaimOne();

        await Store.CompleteAsync(claimed.Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("System.InvalidOperationException", "boom", "at X()")));

        var job = (await Store.GetAsync(claimed.Job.Id))!;
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(new JobError("System.InvalidOperationException", "boom", "at X()"), job.Error);
    }

    /// <summary><c>CompleteAsync</c>: retry; waits out the backoff then runs again.</summary>
    [Fact]
    public async Task CompleteAsync_Retry_WaitsOutTheBackoffThenRunsAgain()
    {
        await Insert(NewJob(maxAttempts: 3));
        var claimed = await ClaimOne();

        await Store.CompleteAsync(claimed.Lease, JobCompletion.Retry(new JobError("E", "first"), Time.GetUtcNow() + TimeSpan.FromSeconds(10)));

        var waiting = (await Store.GetAsync(claimed.Job.Id))!;
        Assert.Equal(JobStatus.Pending, waiting.Status);
        Assert.Equal(JobWaitReason.RetryBackoff, waiting.WaitReason);
        Assert.Equal("first", waiting.Error?.Message);
        Assert.Empty(await Claim());

        Time.Advance(TimeSpan.FromSeconds(10));
        var second = await ClaimOne();
        Assert.Equal(2, second.Job.Attempt);
        Assert.NotEqual(claimed.Lease.Token, second.Lease.Token);

        // The first attempt's lease no longer fences anything.
        Assert.False((await Store.CompleteAsync(claimed.Lease, JobCompletion.Completed("stale"))).Accepted);
    }

    /// <summary><c>CompleteAsync</c>: release; returns the attempt and makes the job ready.</summary>
    [Fact]
    public async Task CompleteAsync_Release_ReturnsTheAttemptAndMakesTheJobReady()
    {
        await Insert(NewJob());
        var claimed = await ClaimOne();

        await Store.CompleteAsync(claimed.Lease, JobCompletion.Release());

        var job = (await Store.GetAsync(claimed.Job.Id))!;
        Assert.Equal(JobStatus.Pending, job.Status);
        Assert.Equal(0, job.Attempt);
        Assert.Equal(1, (await ClaimOne()).Job.Attempt);
    }

    /// <summary><c>CompleteAsync</c>: release with a run time (a postponed job); pending until then, its attempt not used up.</summary>
    [Fact]
    public async Task CompleteAsync_ReleaseWithARunTime_WaitsUntilThen_AndKeepsTheAttempt()
    {
        await Insert(NewJob(maxAttempts: 1));
        var claimed = await ClaimOne();

        Assert.True((await Store.CompleteAsync(claimed.Lease, JobCompletion.Release(Time.GetUtcNow() + TimeSpan.FromSeconds(30)))).Accepted);

        var waiting = (await Store.GetAsync(claimed.Job.Id))!;
        Assert.Equal(JobStatus.Pending, waiting.Status);
        Assert.Equal(0, waiting.Attempt);
        Assert.Equal(Time.GetUtcNow() + TimeSpan.FromSeconds(30), waiting.ScheduledAt);
        Assert.Empty(await Claim());

        Time.Advance(TimeSpan.FromSeconds(30));
        var again = await ClaimOne();
        Assert.Equal(1, again.Job.Attempt);
        Assert.False((await Store.CompleteAsync(claimed.Lease, JobCompletion.Completed("stale"))).Accepted);
    }

    /// <summary><c>RenewAsync</c>: held lease; extends and stores progress.</summary>
    [Fact]
    public async Task RenewAsync_HeldLease_ExtendsAndStoresProgress()
    {
        await Insert(NewJob());
        var claimed = await ClaimOne();

        var state = await Store.RenewAsync(claimed.Lease, Time.GetUtcNow() + TimeSpan.FromMinutes(5), new JobProgress(3, 10, "three"));

        Assert.Equal(LeaseState.Active, state);
        Assert.Equal(new JobProgress(3, 10, "three"), (await Store.GetAsync(claimed.Job.Id))!.Progress);

        // The extended lease survives past the original expiry.
        Time.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.Empty((await Store.RecoverAsync(_ => TimeSpan.Zero)).Recovered);
    }

    /// <summary><c>RenewAsync</c>: after cancel request; reports it.</summary>
    [Fact]
    public async Task RenewAsync_AfterCancelRequest_ReportsIt()
    {
        await Insert(NewJob());
        var claimed = await ClaimOne();

        Assert.Equal(JobCancelOutcome.Requested, (await Store.CancelAsync(claimed.Job.Id)).Outcome);

        Assert.Equal(LeaseState.CancellationRequested, await Store.RenewAsync(claimed.Lease, Time.GetUtcNow() + Lease, null));
        Assert.True((await Store.GetAsync(claimed.Job.Id))!.CancellationRequested);
    }

    /// <summary><c>CompleteAsync</c>: every failed attempt's error is kept, oldest first, with its attempt and time; the last one also as the error.</summary>
    [Fact]
    public async Task CompleteAsync_EveryFailedAttempt_IsKeptInTheJobsHistory()
    {
        await Insert(NewJob(maxAttempts: 4));
        var first = await ClaimOne();
        Assert.True((await Store.CompleteAsync(first.Lease, JobCompletion.Retry(new JobError("E1", "first"), Time.GetUtcNow()))).Accepted);
        Time.Advance(TimeSpan.FromSeconds(1));
        var second = await ClaimOne();
        Assert.True((await Store.CompleteAsync(second.Lease, JobCompletion.Retry(new JobError("E2", "second"), Time.GetUtcNow()))).Accepted);
        Time.Advance(TimeSpan.FromSeconds(1));
        var third = await ClaimOne();
        Assert.True((await Store.CompleteAsync(third.Lease, JobCompletion.Ended(JobStatus.Failed, new JobError("E3", "third", "the stack")))).Accepted);

        var job = (await Store.GetAsync(first.Job.Id))!;
        Assert.Equal(
            [(1, "E1", "first"), (2, "E2", "second"), (3, "E3", "third")],
            job.AttemptErrors.Select(e => (e.Attempt, e.Type, e.Message)));
        Assert.Equal(Time.GetUtcNow() - TimeSpan.FromSeconds(2), job.AttemptErrors[0].At);
        Assert.Equal(Time.GetUtcNow(), job.AttemptErrors[2].At);
        Assert.Equal("the stack", job.Error!.StackTrace);
        Assert.Empty((await Store.GetAsync((await Insert(NewJob())).Id))!.AttemptErrors);
    }

    /// <summary><c>CompleteAsync</c>: the history keeps the most recent <see cref="JobAttemptHistory.MaxKept"/> failures.</summary>
    [Fact]
    public async Task CompleteAsync_ManyFailedAttempts_KeepTheMostRecentInTheHistory()
    {
        const int failures = JobAttemptHistory.MaxKept + 2;
        await Insert(NewJob(maxAttempts: failures + 1));
        for (var i = 1; i <= failures; i++)
        {
            var claimed = await ClaimOne();
            Assert.True((await Store.CompleteAsync(claimed.Lease, JobCompletion.Retry(new JobError("E", $"failure {i}"), Time.GetUtcNow()))).Accepted);
        }

        var history = (await Store.ListAsync(new JobQuery())).Items.Single().AttemptErrors;
        Assert.Equal(JobAttemptHistory.MaxKept, history.Count);
        Assert.Equal(Enumerable.Range(3, JobAttemptHistory.MaxKept), history.Select(e => e.Attempt));
        Assert.Equal($"failure {failures}", history[^1].Message);
    }

    /// <summary><c>CompleteAsync</c>: a job that completes after a retry keeps the failed attempt's error in its history.</summary>
    [Fact]
    public async Task CompleteAsync_CompletedAfterARetry_KeepsTheFailedAttempt()
    {
        await Insert(NewJob(maxAttempts: 2));
        var first = await ClaimOne();
        await Store.CompleteAsync(first.Lease, JobCompletion.Retry(new JobError("Flaky", "once"), Time.GetUtcNow()));
        var second = await ClaimOne();
        await Store.CompleteAsync(second.Lease, JobCompletion.Completed("42"));

        var job = (await Store.GetAsync(first.Job.Id))!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal([(1, "Flaky", "once")], job.AttemptErrors.Select(e => (e.Attempt, e.Type, e.Message)));
    }

    /// <summary><c>RecoverAsync</c>: expired lease with attempts left; retries and fences the old owner.</summary>
    [Fact]
    public async Task RecoverAsync_ExpiredLeaseWithAttemptsLeft_RetriesAndFencesTheOldOwner()
    {
        await Insert(NewJob(maxAttempts: 2));
        var claimed = await ClaimOne("dead-worker");
        Time.Advance(Lease + TimeSpan.FromSeconds(1));

        var result = await Store.RecoverAsync(_ => TimeSpan.FromSeconds(7));

        var recovered = Assert.Single(result.Recovered);
        Assert.Equal(JobStatus.Pending, recovered.Status);
        Assert.Equal(Time.GetUtcNow() + TimeSpan.FromSeconds(7), recovered.ScheduledAt);
        Assert.Contains("attempt 1 of 2", recovered.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(LeaseState.Lost, await Store.RenewAsync(claimed.Lease, Time.GetUtcNow() + Lease, new JobProgress(1, 2)));
        Assert.False((await Store.CompleteAsync(claimed.Lease, JobCompletion.Completed("late"))).Accepted);

        Time.Advance(TimeSpan.FromSeconds(7));
        var again = await ClaimOne("live-worker");
        Assert.Equal(2, again.Job.Attempt);
    }

    /// <summary><c>RecoverAsync</c>: expired lease on last attempt; fails with aclear reason.</summary>
    [Fact]
    public async Task RecoverAsync_ExpiredLeaseOnLastAttempt_FailsWithAClearReason()
    {
        await Insert(NewJob(maxAttempts: 1));
        var claimed = await ClaimOne("dead-worker");
        Time.Advance(Lease + TimeSpan.FromSeconds(1));

        var recovered = Assert.Single((await Store.RecoverAsync(_ => TimeSpan.Zero)).Recovered);

        Assert.Equal(JobStatus.Failed, recovered.Status);
        Assert.Equal("LeaseExpired", recovered.Error!.Type);
        Assert.Equal([(1, "LeaseExpired")], (await Store.GetAsync(claimed.Job.Id))!.AttemptErrors.Select(e => (e.Attempt, e.Type)));
        Assert.Contains("attempt 1 of 1", recovered.Error.Message, StringComparison.Ordinal);
        Assert.Contains("dead-worker", recovered.Error.Message, StringComparison.Ordinal);
        Assert.Equal(JobStatus.Failed, (await Store.GetAsync(claimed.Job.Id))!.Status);
    }

    /// <summary><c>RecoverAsync</c>: expired lease after cancel request; ends cancelled and never runs again.</summary>
    [Fact]
    public async Task RecoverAsync_ExpiredLeaseAfterCancelRequest_EndsCancelledAndNeverRunsAgain()
    {
        var parent = await Insert(NewJob(maxAttempts: 3));
        var child = await Insert(NewJob(dependsOn: [parent.Id]));
        var claimed = await ClaimOne("dead-worker");
        Assert.Equal(JobCancelOutcome.Requested, (await Store.CancelAsync(claimed.Job.Id)).Outcome);
        Time.Advance(Lease + TimeSpan.FromSeconds(1));

        var result = await Store.RecoverAsync(_ => TimeSpan.Zero);

        var recovered = Assert.Single(result.Recovered);
        Assert.Equal(JobStatus.Cancelled, recovered.Status);
        Assert.Equal("Cancelled", recovered.Error!.Type);
        Assert.Contains("dead-worker", recovered.Error.Message, StringComparison.Ordinal);
        Assert.Equal([child.Id], result.CancelledDependents);
        var stored = (await Store.GetAsync(parent.Id))!;
        Assert.Equal(JobStatus.Cancelled, stored.Status);
        Assert.NotNull(stored.CompletedAt);
        Assert.Equal(JobStatus.Cancelled, (await Store.GetAsync(child.Id))!.Status);
        Assert.Empty(await Claim());
        Assert.False((await Store.CompleteAsync(claimed.Lease, JobCompletion.Completed("late"))).Accepted);
    }

    /// <summary><c>RecoverAsync</c>: live lease; is left alone.</summary>
    [Fact]
    public async Task RecoverAsync_LiveLease_IsLeftAlone()
    {
        await Insert(NewJob());
        await ClaimOne();
        Time.Advance(Lease - TimeSpan.FromSeconds(1));

        Assert.Empty((await Store.RecoverAsync(_ => TimeSpan.Zero)).Recovered);
    }
}
