using JobRuntime.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace JobRuntime.Testing;

/// <summary>
/// The contract every <see cref="IJobStore"/> must meet. A store's test class inherits this and
/// implements <see cref="CreateStore"/>; every test here then runs against that store.
/// </summary>
public abstract class JobStoreConformanceTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private IJobStore? _store;

    /// <summary>The fake clock the store is created with; tests move it.</summary>
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The store under test.</summary>
    protected IJobStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    /// <summary>Creates an empty store that reads time from <paramref name="timeProvider"/>.</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>The store.</returns>
    protected abstract Task<IJobStore> CreateStore(TimeProvider timeProvider);

    /// <inheritdoc />
    public async Task InitializeAsync() => _store = await CreateStore(Time);

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        switch (_store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    /// <summary>A new pending job as the runtime would insert it.</summary>
    protected JobSnapshot NewJob(string type = "test", int priority = 0, string queue = "default", TimeSpan? delay = null, int maxAttempts = 1, string? key = null, IReadOnlyList<JobId>? dependsOn = null, DependencyFailureBehavior onParentFailure = DependencyFailureBehavior.Cancel, string[]? tags = null)
    {
        var now = Time.GetUtcNow();
        return new JobSnapshot
        {
            Id = JobId.New(now),
            Type = type,
            Queue = queue,
            Priority = priority,
            Payload = "{\"n\":1}",
            Status = JobStatus.Pending,
            MaxAttempts = maxAttempts,
            CreatedAt = now,
            ScheduledAt = now + (delay ?? TimeSpan.Zero),
            IdempotencyKey = key,
            DependsOn = dependsOn ?? [],
            OnParentFailure = onParentFailure,
            Tags = tags ?? [],
            Title = "a title",
        };
    }

    /// <summary>Inserts a job and returns it as stored.</summary>
    protected async Task<JobSnapshot> Insert(JobSnapshot job)
    {
        var result = await Store.InsertAsync(job);
        Assert.True(result.Created);
        return result.Job;
    }

    /// <summary>Claims up to <paramref name="count"/> jobs.</summary>
    protected async Task<IReadOnlyList<ClaimedJob>> Claim(int count = 10, string owner = "worker-1", IReadOnlyDictionary<string, int>? queueLimits = null)
        => (await Store.ClaimAsync(new ClaimRequest(owner, count, Lease) { QueueLimits = queueLimits })).Jobs;

    /// <summary>Claims exactly one job.</summary>
    protected async Task<ClaimedJob> ClaimOne(string owner = "worker-1")
        => Assert.Single(await Claim(1, owner));

    /// <summary><c>InsertAsync</c>: new job; is read back with every field.</summary>
    [Fact]
    public async Task InsertAsync_NewJob_IsReadBackWithEveryField()
    {
        var job = NewJob(priority: 3, tags: ["a", "b"]);
        await Insert(job);

        var read = await Store.GetAsync(job.Id);

        Assert.NotNull(read);
        Assert.Equal(job.Id, read.Id);
        Assert.Equal("test", read.Type);
        Assert.Equal("default", read.Queue);
        Assert.Equal(3, read.Priority);
        Assert.Equal(job.Payload, read.Payload);
        Assert.Equal(JobStatus.Pending, read.Status);
        Assert.Equal(JobWaitReason.None, read.WaitReason);
        Assert.Equal(0, read.Attempt);
        Assert.Equal(job.CreatedAt, read.CreatedAt);
        Assert.Equal(["a", "b"], read.Tags);
        Assert.Equal("a title", read.Title);
        Assert.False(read.IsTerminal);
    }

    /// <summary><c>InsertAsync</c>: token tripped while storing; throws only when nothing was stored.</summary>
    [Fact]
    public async Task InsertAsync_TokenTrippedWhileStoring_ThrowsOnlyWhenNothingWasStored()
    {
        // Tripped at once, while the write waits for its batch or is being written: whichever the
        // caller is told, the store agrees (a cancelled insert stored nothing; a returned one is stored).
        var told = new List<(JobId Id, bool Cancelled)>();
        for (var i = 0; i < 200; i++)
        {
            var job = NewJob();
            using var cts = new CancellationTokenSource();
            var insert = Store.InsertAsync(job, cts.Token).AsTask();
            if (i % 2 == 0)
            {
                cts.Cancel();
            }
            else
            {
                _ = Task.Run(cts.Cancel);
            }

            try
            {
                await insert;
                told.Add((job.Id, false));
            }
            catch (OperationCanceledException)
            {
                told.Add((job.Id, true));
            }
        }

        // A write queued after all of them has settled them all (a write the caller stopped waiting
        // for may still be on its way otherwise).
        await Insert(NewJob());
        foreach (var (id, cancelled) in told)
        {
            Assert.True(cancelled == (await Store.GetAsync(id) is null), $"Job {id}: the caller was told {(cancelled ? "cancelled" : "stored")}, the store disagrees.");
        }

        using var before = new CancellationTokenSource();
        before.Cancel();
        var never = NewJob();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Store.InsertAsync(never, before.Token));
        Assert.Null(await Store.GetAsync(never.Id));
    }

    /// <summary><c>InsertAsync</c>: text no store can hold; is refused and the next insert works.</summary>
    /// <param name="field">The case.</param>
    [Theory]
    [InlineData("Queue")]
    [InlineData("Title")]
    [InlineData("IdempotencyKey")]
    [InlineData("Tags")]
    [InlineData("Type")]
    [InlineData("Payload")]
    public async Task InsertAsync_TextNoStoreCanHold_IsRefusedAndTheNextInsertWorks(string field)
    {
        foreach (var hostile in (string[])["a\0b", "x\uD800y", "\uDC00"])
        {
            var job = NewJob();
            job = field switch
            {
                "Queue" => job with { Queue = hostile },
                "Title" => job with { Title = hostile },
                "IdempotencyKey" => job with { IdempotencyKey = hostile },
                "Tags" => job with { Tags = ["fine", hostile] },
                "Type" => job with { Type = hostile },
                _ => job with { Payload = "\"" + hostile + "\"" },
            };

            var error = await Assert.ThrowsAsync<ArgumentException>(async () => await Store.InsertAsync(job));
            Assert.Contains(field, error.Message, StringComparison.Ordinal);
            Assert.Null(await Store.GetAsync(job.Id));

            var next = await Insert(NewJob(queue: "q\U0001F600"));
            Assert.Equal("q\U0001F600", (await Store.GetAsync(next.Id))!.Queue);
        }
    }

    /// <summary><c>GetAsync</c>: unknown id; returns null.</summary>
    [Fact]
    public async Task GetAsync_UnknownId_ReturnsNull()
        => Assert.Null(await Store.GetAsync(JobId.New()));

    /// <summary><c>ClaimAsync</c>: ready jobs; by priority then age.</summary>
    [Fact]
    public async Task ClaimAsync_ReadyJobs_ByPriorityThenAge()
    {
        var low = await Insert(NewJob(priority: 0));
        Time.Advance(TimeSpan.FromMilliseconds(1));
        var high = await Insert(NewJob(priority: 5));
        Time.Advance(TimeSpan.FromMilliseconds(1));
        var low2 = await Insert(NewJob(priority: 0));

        var claimed = await Claim(10);

        Assert.Equal([high.Id, low.Id, low2.Id], claimed.Select(c => c.Job.Id));
        Assert.All(claimed, c =>
        {
            Assert.Equal(JobStatus.Running, c.Job.Status);
            Assert.Equal(1, c.Job.Attempt);
            Assert.Equal("worker-1", c.Lease.Owner);
            Assert.Equal(Time.GetUtcNow() + Lease, c.Lease.ExpiresAt);
        });
        Assert.Empty(await Claim(10));
    }

    /// <summary><c>ClaimAsync</c>: max count; claims no more.</summary>
    [Fact]
    public async Task ClaimAsync_MaxCount_ClaimsNoMore()
    {
        for (var i = 0; i < 5; i++)
        {
            await Insert(NewJob());
        }

        Assert.Equal(2, (await Claim(2)).Count);
        Assert.Equal(3, (await Claim(10)).Count);
    }

    /// <summary><c>ClaimAsync</c>: delayed job; waits for its run time and reports it.</summary>
    [Fact]
    public async Task ClaimAsync_DelayedJob_WaitsForItsRunTimeAndReportsIt()
    {
        var job = await Insert(NewJob(delay: TimeSpan.FromMinutes(5)));
        Assert.Equal(JobWaitReason.Scheduled, job.WaitReason);

        var result = await Store.ClaimAsync(new ClaimRequest("w", 10, Lease));
        Assert.Empty(result.Jobs);
        Assert.Equal(job.ScheduledAt, result.NextDueAt);

        Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(JobWaitReason.None, (await Store.GetAsync(job.Id))!.WaitReason);
        Assert.Equal(job.Id, (await ClaimOne()).Job.Id);
    }

    /// <summary><c>ClaimAsync</c>: queue limit; is respected.</summary>
    [Fact]
    public async Task ClaimAsync_QueueLimit_IsRespected()
    {
        for (var i = 0; i < 3; i++)
        {
            await Insert(NewJob(queue: "gpu"));
            await Insert(NewJob(queue: "cpu"));
        }

        var claimed = await Claim(10, queueLimits: new Dictionary<string, int> { ["gpu"] = 1 });

        Assert.Equal(1, claimed.Count(c => c.Job.Queue == "gpu"));
        Assert.Equal(3, claimed.Count(c => c.Job.Queue == "cpu"));
    }

    /// <summary><c>ClaimAsync</c>: queue filter; claims only those queues.</summary>
    [Fact]
    public async Task ClaimAsync_QueueFilter_ClaimsOnlyThoseQueues()
    {
        await Insert(NewJob(queue: "a"));
        await Insert(NewJob(queue: "b"));

        var claimed = (await Store.ClaimAsync(new ClaimRequest("w", 10, Lease) { Queues = ["b"] })).Jobs;

        Assert.Equal("b", Assert.Single(claimed).Job.Queue);
    }

    /// <summary><c>ClaimAsync</c>: queue at its limit with abacklog; does not hide other queues.</summary>
    [Fact]
    public async Task ClaimAsync_QueueAtItsLimitWithABacklog_DoesNotHideOtherQueues()
    {
        // 300 jobs of a queue at its limit come first in queue order (higher priority); behind them
        // wait jobs of other queues, which the claim must reach.
        for (var i = 0; i < 300; i++)
        {
            await Insert(NewJob(priority: 5, queue: "batch"));
        }

        var low = await Insert(NewJob(priority: 0, queue: "default"));
        var other = await Insert(NewJob(priority: 1, queue: "ui"));

        var limited = await Claim(3, queueLimits: new Dictionary<string, int> { ["batch"] = 0 });
        Assert.Equal([other.Id, low.Id], limited.Select(c => c.Job.Id));

        await Insert(NewJob(priority: 0, queue: "ui"));
        var filtered = (await Store.ClaimAsync(new ClaimRequest("worker-2", 3, Lease) { Queues = ["ui"] })).Jobs;
        Assert.Equal("ui", Assert.Single(filtered).Job.Queue);

        // The limit is a cap, not a ban: with room, the batch queue gives as many as it may.
        var batch = await Claim(5, queueLimits: new Dictionary<string, int> { ["batch"] = 2 });
        Assert.Equal(2, batch.Count);
        Assert.All(batch, c => Assert.Equal("batch", c.Job.Queue));
    }

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
