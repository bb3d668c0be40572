using JobRuntime.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace JobRuntime.Testing;

/// <summary>
/// The contract every <see cref="IJobStore"/> must meet. A store's test class inherits this and
/// implements <see cref="CreateStore"/>; every test here then runs against that store.
/// </summary>
public abstract partial class JobStoreConformanceTests : IAsyncLifetime
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
    public virtual Task DisposeAsync() => StoreDisposal.DisposeAsync(_store);

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
}
