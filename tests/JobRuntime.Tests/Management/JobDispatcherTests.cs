using JobRuntime.Storage;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace JobRuntime.Tests.Management;

public sealed class JobDispatcherTests
{
    [Fact]
    public async Task Progress_ReachesTheStoreThrottled_AndAlwaysTheFinalState()
    {
        var time = new FakeTimeProvider();
        var store = new CountingStore(new InMemoryJobStore(time));
        await using var runtime = TestRuntime.Create(time: time, builder: b => b.UseStore(_ => store));
        using var events = runtime.Broker.SubscribeAll(bufferCapacity: 10_000);

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(1, Steps: 1000));
        await runtime.Manager.WaitForCompletionAsync(id);

        // Subscribers saw every update live; the store got at most one write per 10 % step.
        var live = new List<JobEvent>();
        while (events.Reader.TryRead(out var e))
        {
            if (e.JobId == id && e.Kind == JobEventKind.Progress)
            {
                live.Add(e);
            }
        }

        Assert.Equal(1000, live.Count);
        Assert.InRange(store.ProgressWrites, 0, 11);
        Assert.Equal(new JobProgress(1000, 1000, "step 1000"), (await runtime.Manager.GetAsync(id))!.Progress);
    }

    [Fact]
    public async Task CancelRequestedElsewhere_ReachesTheRunningJobThroughItsLease()
    {
        var time = new FakeTimeProvider();
        await using var runtime = TestRuntime.Create(o => o.LeaseDuration = TimeSpan.FromSeconds(30), time);
        var id = await runtime.Manager.SubmitAsync(new GateArgs("remote-cancel"));
        await runtime.Gates.For("remote-cancel").Started.Task;

        // Another node's manager cancels through the shared store only.
        Assert.Equal(JobCancelOutcome.Requested, (await runtime.Store.CancelAsync(id)).Outcome);
        runtime.Advance(time, TimeSpan.FromSeconds(10));

        Assert.Equal(JobStatus.Cancelled, (await runtime.Manager.WaitForCompletionAsync(id)).Status);
    }

    [Fact]
    public async Task StoreFailures_AreRetried_AndNoJobIsLost()
    {
        var real = new InMemoryJobStore();
        var claimFailures = 1;
        var completeFailures = 2;
        var store = new Mock<IJobStore>(MockBehavior.Strict);
        store.Setup(s => s.InsertAsync(It.IsAny<JobSnapshot>(), It.IsAny<CancellationToken>()))
            .Returns((JobSnapshot j, CancellationToken c) => real.InsertAsync(j, c));
        store.Setup(s => s.GetAsync(It.IsAny<JobId>(), It.IsAny<CancellationToken>()))
            .Returns((JobId id, CancellationToken c) => real.GetAsync(id, c));
        store.Setup(s => s.RecoverAsync(It.IsAny<Func<JobSnapshot, TimeSpan>>(), It.IsAny<CancellationToken>()))
            .Returns((Func<JobSnapshot, TimeSpan> d, CancellationToken c) => real.RecoverAsync(d, c));
        store.Setup(s => s.RenewAsync(It.IsAny<JobLease>(), It.IsAny<DateTimeOffset>(), It.IsAny<JobProgress?>(), It.IsAny<CancellationToken>()))
            .Returns((JobLease l, DateTimeOffset e, JobProgress? p, CancellationToken c) => real.RenewAsync(l, e, p, c));
        store.Setup(s => s.ClaimAsync(It.IsAny<ClaimRequest>(), It.IsAny<CancellationToken>()))
            .Returns((ClaimRequest r, CancellationToken c) => Interlocked.Decrement(ref claimFailures) >= 0
                ? throw new IOException("database is locked")
                : real.ClaimAsync(r, c));
        store.Setup(s => s.CompleteAsync(It.IsAny<JobLease>(), It.IsAny<JobCompletion>(), It.IsAny<CancellationToken>()))
            .Returns((JobLease l, JobCompletion x, CancellationToken c) => Interlocked.Decrement(ref completeFailures) >= 0
                ? throw new IOException("disk busy")
                : real.CompleteAsync(l, x, c));
        await using var runtime = TestRuntime.Create(builder: b => b.UseStore(_ => store.Object));

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(5));

        Assert.Equal(10, (await runtime.Manager.WaitForResultAsync<EchoResult>(id)).Doubled);
        store.Verify(s => s.CompleteAsync(It.IsAny<JobLease>(), It.IsAny<JobCompletion>(), It.IsAny<CancellationToken>()), Times.Exactly(3));
    }

    [Fact]
    public async Task SourceGeneratedJsonContext_IsUsedForPayloadsAndResults()
    {
        await using var runtime = TestRuntime.Create(
            o => o.SerializerOptions = new System.Text.Json.JsonSerializerOptions { TypeInfoResolver = TestJsonContext.Default },
            builder: b => b.AddHandler<GeneratedHandler>("generated"));

        var id = await runtime.Manager.SubmitAsync(new GeneratedArgs("abc"));
        Assert.Equal(new GeneratedResult(3), await runtime.Manager.WaitForResultAsync<GeneratedResult>(id));
        Assert.Equal("""{"Text":"abc"}""", (await runtime.Manager.GetAsync(id))!.Payload);

        // A type the context does not know is refused at submit, clearly.
        var ex = await Assert.ThrowsAsync<JobPayloadException>(async () => await runtime.Manager.SubmitAsync(new EchoArgs(1)));
        Assert.Contains(typeof(EchoArgs).FullName!, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownTypeAtRunTime_FailsTheJobWithoutRetry()
    {
        await using var runtime = TestRuntime.Create();

        var failed = await RunStoredJob(runtime, "removed-in-v2", "{}");

        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Equal(1, failed.Attempt);
        Assert.Equal(typeof(UnknownJobTypeException).FullName, failed.Error!.Type);
    }

    [Fact]
    public async Task CorruptPayloadAtRunTime_FailsTheJobWithTheParserError()
    {
        await using var runtime = TestRuntime.Create();

        var failed = await RunStoredJob(runtime, "echo", "{\"value\":\"not a number\"}");

        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Equal(1, failed.Attempt);
        Assert.Equal(typeof(JobPayloadException).FullName, failed.Error!.Type);
        Assert.Contains("EchoArgs", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CustomEventsAndArtifacts_ReachSubscribersAndTheResult()
    {
        await using var runtime = TestRuntime.Create(builder: b => b.AddHandler<ChattyHandler>("chatty"));
        using var events = runtime.Broker.SubscribeAll(1000);

        var id = await runtime.Manager.SubmitAsync(new ChattyArgs(3));
        await runtime.Manager.WaitForCompletionAsync(id);

        var seen = new List<JobEvent>();
        while (events.Reader.TryRead(out var e))
        {
            if (e.JobId == id)
            {
                seen.Add(e);
            }
        }

        Assert.Equal(["warmup", "sampling"], seen.Where(e => e.Kind == JobEventKind.StageChanged).Select(e => e.Name));
        var divergences = seen.Where(e => e.Kind == JobEventKind.Custom).ToList();
        Assert.Equal(3, divergences.Count);
        Assert.All(divergences, e => Assert.Equal("divergence", e.Name));
        Assert.Equal([1, 2, 3], divergences.Select(e => ((Divergence)e.Data!).Count));
        var artifact = Assert.Single((await runtime.Manager.GetAsync(id))!.Artifacts);
        Assert.Equal("summary", artifact.Name);
        Assert.Equal("3 divergences"u8.ToArray(), artifact.Data);
        Assert.Equal("sampling", (await runtime.Manager.GetAsync(id))!.Progress.Stage);
    }

    /// <summary>Stores a job as another process (or an older version) might have, with attempts to spare, and runs it.</summary>
    private static async Task<JobSnapshot> RunStoredJob(TestRuntime runtime, string type, string payload)
    {
        var now = DateTimeOffset.UtcNow;
        var job = new JobSnapshot { Id = JobId.New(now), Type = type, Queue = "default", Payload = payload, CreatedAt = now, ScheduledAt = now, MaxAttempts = 5 };
        await runtime.Store.InsertAsync(job);

        // Submitting anything starts the dispatcher, which then picks up the stored job too.
        await runtime.Manager.WaitForCompletionAsync(await runtime.Manager.SubmitAsync(new EchoArgs(1)));
        return await runtime.Manager.WaitForCompletionAsync(job.Id);
    }

    public sealed record ChattyArgs(int Divergences);

    public sealed record Divergence(int Count);

    public sealed class ChattyHandler : IJobHandler<ChattyArgs, int>
    {
        public ValueTask<int> ExecuteAsync(ChattyArgs args, JobContext context)
        {
            context.SetStage("warmup");
            context.ReportProgress(1, 2);
            context.SetStage("sampling");
            for (var i = 1; i <= args.Divergences; i++)
            {
                context.Publish("divergence", new Divergence(i));
            }

            context.AddArtifact(JobArtifact.Text("summary", $"{args.Divergences} divergences"));
            context.ReportProgress(2, 2);
            return ValueTask.FromResult(args.Divergences);
        }
    }

    public sealed class GeneratedHandler : IJobHandler<GeneratedArgs, GeneratedResult>
    {
        public ValueTask<GeneratedResult> ExecuteAsync(GeneratedArgs args, JobContext context) => ValueTask.FromResult(new GeneratedResult(args.Text.Length));
    }

    [Fact]
    public async Task OutcomeWriteSlowerThanTheLease_KeepsTheLeaseRenewed_AndTheJobCompletes()
    {
        // The handler returns at once, but the store takes longer than the lease to record the
        // outcome (a backlog of writes). Recovery must not fail the finished job meanwhile.
        var time = new FakeTimeProvider();
        var store = new SlowOutcomeStore(new InMemoryJobStore(time));
        await using var runtime = TestRuntime.Create(
            o =>
            {
                o.LeaseDuration = TimeSpan.FromSeconds(30);
                o.RecoveryInterval = TimeSpan.FromSeconds(5);
            },
            time,
            b => b.UseStore(_ => store));
        var dispatcher = runtime.Services.GetRequiredService<JobRuntime.Engine.JobEngine>();

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(7));
        await store.OutcomeArrived.Task;

        // 60 s, two leases, pass while the write hangs: each step waits for a renewal and a recovery pass.
        try
        {
            for (var step = 0; step < 6; step++)
            {
                var renewals = store.Renewals;
                var pass = dispatcher.WaitForMaintenanceAsync();
                runtime.Advance(time, TimeSpan.FromSeconds(10));
                await pass.WaitAsync(TimeSpan.FromSeconds(30));
                while (store.Renewals == renewals)
                {
                    Assert.True(await store.Renewed.WaitAsync(TimeSpan.FromSeconds(30)), $"No lease renewal after {(step + 1) * 10} s while the outcome was being written.");
                }
            }
        }
        finally
        {
            // Also when the test fails: the runtime's disposal waits for the write.
            store.ReleaseOutcome.TrySetResult();
        }

        var job = await runtime.Manager.WaitForCompletionAsync(id);
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Contains("\"doubled\":14", job.Result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LeadershipThatNeverAnswers_DoesNotBlockClaiming()
    {
        var store = new StuckLeadershipStore(new InMemoryJobStore());
        await using var runtime = TestRuntime.Create(builder: b => b.UseStore(_ => store));

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(21));
        await store.Asked.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(JobStatus.Completed, (await runtime.Manager.WaitForCompletionAsync(id).WaitAsync(TimeSpan.FromSeconds(60))).Status);
    }

    /// <summary>A shared store whose leadership question never returns (its leader row locked elsewhere).</summary>
    private sealed class StuckLeadershipStore(IJobStore inner) : DelegatingStore(inner), IJobStoreLeadership
    {
        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<bool> TryLeadAsync(string owner, TimeSpan ttl, CancellationToken cancellationToken = default)
        {
            Asked.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return false;
        }

        public ValueTask ResignAsync(string owner, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }

    /// <summary>Holds every outcome write until released; counts lease renewals.</summary>
    private sealed class SlowOutcomeStore(IJobStore inner) : DelegatingStore(inner)
    {
        private int _renewals;

        public TaskCompletionSource OutcomeArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReleaseOutcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SemaphoreSlim Renewed { get; } = new(0);

        public int Renewals => Volatile.Read(ref _renewals);

        public override async ValueTask<LeaseState> RenewAsync(JobLease lease, DateTimeOffset expiresAt, JobProgress? progress, CancellationToken cancellationToken = default)
        {
            var state = await base.RenewAsync(lease, expiresAt, progress, cancellationToken);
            Interlocked.Increment(ref _renewals);
            Renewed.Release();
            return state;
        }

        public override async ValueTask<JobWriteResult> CompleteAsync(JobLease lease, JobCompletion completion, CancellationToken cancellationToken = default)
        {
            OutcomeArrived.TrySetResult();
            await ReleaseOutcome.Task.WaitAsync(cancellationToken);
            return await base.CompleteAsync(lease, completion, cancellationToken);
        }
    }

    /// <summary>Counts the progress writes that reach the store.</summary>
    private sealed class CountingStore(IJobStore inner) : DelegatingStore(inner)
    {
        private int _progressWrites;

        public int ProgressWrites => Volatile.Read(ref _progressWrites);

        public override ValueTask<LeaseState> RenewAsync(JobLease lease, DateTimeOffset expiresAt, JobProgress? progress, CancellationToken cancellationToken = default)
        {
            if (progress is not null)
            {
                Interlocked.Increment(ref _progressWrites);
            }

            return base.RenewAsync(lease, expiresAt, progress, cancellationToken);
        }
    }

    /// <summary>Passes every call to another store; tests override the calls they watch.</summary>
    private abstract class DelegatingStore(IJobStore inner) : IJobStore
    {
        public virtual ValueTask<JobInsertResult> InsertAsync(JobSnapshot job, CancellationToken cancellationToken = default) => inner.InsertAsync(job, cancellationToken);

        public virtual ValueTask<IReadOnlyList<JobInsertResult>> InsertManyAsync(IReadOnlyList<JobSnapshot> jobs, CancellationToken cancellationToken = default) => inner.InsertManyAsync(jobs, cancellationToken);

        public virtual ValueTask<ClaimResult> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default) => inner.ClaimAsync(request, cancellationToken);

        public virtual ValueTask<LeaseState> RenewAsync(JobLease lease, DateTimeOffset expiresAt, JobProgress? progress, CancellationToken cancellationToken = default) => inner.RenewAsync(lease, expiresAt, progress, cancellationToken);

        public virtual ValueTask<JobWriteResult> CompleteAsync(JobLease lease, JobCompletion completion, CancellationToken cancellationToken = default) => inner.CompleteAsync(lease, completion, cancellationToken);

        public virtual ValueTask<JobSnapshot?> GetAsync(JobId id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

        public virtual ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default) => inner.ListAsync(query, cancellationToken);

        public virtual ValueTask<JobCancelResult> CancelAsync(JobId id, CancellationToken cancellationToken = default) => inner.CancelAsync(id, cancellationToken);

        public virtual ValueTask<JobDeleteResult> DeleteAsync(JobId id, CancellationToken cancellationToken = default) => inner.DeleteAsync(id, cancellationToken);

        public virtual ValueTask<int> CleanupAsync(DateTimeOffset completedBefore, CancellationToken cancellationToken = default) => inner.CleanupAsync(completedBefore, cancellationToken);

        public virtual ValueTask<RecoveryResult> RecoverAsync(Func<JobSnapshot, TimeSpan> retryDelay, CancellationToken cancellationToken = default) => inner.RecoverAsync(retryDelay, cancellationToken);
    }
}

public sealed record GeneratedArgs(string Text);

public sealed record GeneratedResult(int Length);

[System.Text.Json.Serialization.JsonSerializable(typeof(GeneratedArgs))]
[System.Text.Json.Serialization.JsonSerializable(typeof(GeneratedResult))]
internal sealed partial class TestJsonContext : System.Text.Json.Serialization.JsonSerializerContext
{
}
