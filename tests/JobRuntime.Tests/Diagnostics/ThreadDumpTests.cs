using System.Diagnostics;
using JobRuntime.ThreadDumps;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Tests.Diagnostics;

public sealed class ThreadDumpTests
{
    public sealed record HangArgs(string Key);

    /// <summary>An async handler that hangs two calls deep, on a task nobody completes.</summary>
    public sealed class HangingHandler(Gates gates) : IJobHandler<HangArgs, int>
    {
        public async ValueTask<int> ExecuteAsync(HangArgs args, JobContext context) => await OuterJobAsync(args.Key, context.CancellationToken);

        private async Task<int> OuterJobAsync(string key, CancellationToken cancellationToken)
        {
            await InnerStepAsync(key, cancellationToken);
            return 1;
        }

        private async Task InnerStepAsync(string key, CancellationToken cancellationToken)
        {
            var never = new TaskCompletionSource();
            gates.For(key).Started.TrySetResult(default);
            await never.Task.WaitAsync(cancellationToken);
        }
    }

    private static TestRuntime Runtime() => TestRuntime.Create(builder: b => b.AddHandler<HangingHandler>("hang"));

    [Fact]
    public async Task Timeout_CapturesTheAsyncChainBeforeCancelling_AndKeepsTheDumpWithTheJob()
    {
        await using var runtime = Runtime();
        using var events = runtime.Broker.SubscribeAll(1000);

        var id = await runtime.Manager.SubmitAsync(new HangArgs("hang"), new JobSubmitOptions { Timeout = TimeSpan.FromMilliseconds(100) });
        var job = await runtime.Manager.WaitForCompletionAsync(id);

        Assert.Equal(JobStatus.TimedOut, job.Status);
        var dump = await runtime.Manager.GetThreadDumpAsync(id);
        Assert.NotNull(dump);
        Assert.Equal("timeout", dump.Reason);
        Assert.Equal(id, dump.JobId);
        var outer = dump.AsyncChain.ToList().FindIndex(f => f.EndsWith("HangingHandler.OuterJobAsync", StringComparison.Ordinal));
        var inner = dump.AsyncChain.ToList().FindIndex(f => f.EndsWith("HangingHandler.InnerStepAsync", StringComparison.Ordinal));
        Assert.True(outer >= 0 && inner > outer, "chain: " + string.Join(" -> ", dump.AsyncChain));
        Assert.StartsWith("awaiting ", dump.AsyncChain[^1], StringComparison.Ordinal);
        var thread = Assert.Single(dump.Threads, t => t.IsJobThread);
        Assert.Equal(id, thread.JobId);
        Assert.True(thread.ManagedThreadId > 0);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(thread.OsThreadId > 0);
        }

        // The error carries the readable dump; a warning event carried it live at the deadline.
        Assert.Contains($"<<< job {id} timeout", job.Error!.StackTrace, StringComparison.Ordinal);
        Assert.Contains("InnerStepAsync", job.Error.Message, StringComparison.Ordinal);
        var warning = Assert.Single(Drain(events), e => e.JobId == id && e.Kind == JobEventKind.Warning);
        Assert.Equal("timeout", warning.Name);
        Assert.IsType<ThreadDump>(warning.Data);
    }

    [Fact]
    public async Task CaptureAsync_OnDemand_ListsRunningJobsWithTheirChains()
    {
        await using var runtime = Runtime();
        var id = await runtime.Manager.SubmitAsync(new HangArgs("demand"));
        await runtime.Gates.For("demand").Started.Task;

        // The gate opens just before the handler's first await; the chain is readable once the
        // handler has suspended there and handed its task to the executor.
        var running = runtime.Services.GetRequiredService<JobRuntime.RunningWorkItems>();
        Assert.True(SpinWait.SpinUntil(() => running.TryGet(id, out var item) && item.RootTask is not null, TimeSpan.FromMinutes(1)));

        var dump = await runtime.Services.GetRequiredService<IThreadDumpService>().CaptureAsync(id);

        Assert.Equal("core", dump.Method);
        Assert.Equal("on demand", dump.Reason);
        var thread = Assert.Single(dump.Threads, t => t.JobId == id);
        Assert.True(thread.IsJobThread);
        Assert.Contains(thread.Frames, f => f.EndsWith("InnerStepAsync", StringComparison.Ordinal));
        Assert.Empty(dump.OverdueJobs);
        Assert.Contains("Async call chain of job", dump.ToText(), StringComparison.Ordinal);
        Assert.Equal(JobCancelOutcome.Requested, await runtime.Manager.CancelAsync(id));
        Assert.Equal(JobStatus.Cancelled, (await runtime.Manager.WaitForCompletionAsync(id)).Status);
    }

    [Fact]
    public async Task StallTimeout_NoProgress_WarnsOnceWithADump_AndTheJobKeepsRunning()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var runtime = TestRuntime.Create(o =>
        {
            o.StallTimeout = TimeSpan.FromSeconds(30);

            // The fake clock jumps 31 s at once; a lease that long keeps recovery out of the picture.
            o.LeaseDuration = TimeSpan.FromMinutes(10);
        }, time);
        using var events = runtime.Broker.SubscribeAll(1000);
        var id = await runtime.Manager.SubmitAsync(new GateArgs("stall"));

        // The gate handler reports progress once, then waits: 30 silent seconds make a stall.
        var advanced = false;
        JobEvent? warning = null;
        await foreach (var e in events.ReadAllAsync())
        {
            if (e.JobId == id && e.Kind == JobEventKind.Progress && !advanced)
            {
                advanced = true;
                runtime.Advance(time, TimeSpan.FromSeconds(31));
            }
            else if (e.JobId == id && e.Kind == JobEventKind.Warning)
            {
                warning = e;
                break;
            }
        }

        Assert.Equal("stall", warning!.Name);
        Assert.Equal("Stall", warning.Error!.Type);
        var dump = Assert.IsType<ThreadDump>(warning.Data);
        Assert.Equal("stall", dump.Reason);
        Assert.Equal(id, dump.JobId);
        Assert.Equal(JobStatus.Running, (await runtime.Manager.GetAsync(id))!.Status);

        // One warning per stall: more silence adds none.
        runtime.Advance(time, TimeSpan.FromSeconds(31));
        runtime.Gates.For("stall").Open.SetResult();
        Assert.Equal(JobStatus.Completed, (await runtime.Manager.WaitForCompletionAsync(id)).Status);
        Assert.DoesNotContain(Drain(events), e => e.JobId == id && e.Kind == JobEventKind.Warning);
    }

    [Fact]
    public async Task GetThreadDumpAsync_JobThatDidNotTimeOut_IsNull()
    {
        await using var runtime = Runtime();
        var id = await runtime.Manager.SubmitAsync(new EchoArgs(1));
        await runtime.Manager.WaitForCompletionAsync(id);

        Assert.Null(await runtime.Manager.GetThreadDumpAsync(id));
        await Assert.ThrowsAsync<JobNotFoundException>(async () => await runtime.Manager.GetThreadDumpAsync(JobId.New()));
    }

    [Fact]
    public async Task ProviderThatFails_FallsThroughToCore_WithANoteSayingWhy()
    {
        await using var runtime = TestRuntime.Create(builder: b => b.Services.AddSingleton<IThreadDumpProvider>(new BrokenProvider()));
        var dump = await runtime.Services.GetRequiredService<IThreadDumpService>().CaptureAsync();

        Assert.Equal("core", dump.Method);
        Assert.Contains("provider 'broken' failed: InvalidOperationException: the trace could not be parsed", dump.Notes);
    }

    [Fact]
    public async Task ProviderStillCapturingWhenTheBudgetTrips_TheCoreDumpIsReturnedInstead()
    {
        var slow = new SlowProvider();
        await using var runtime = TestRuntime.Create(builder: b => b.Services.AddSingleton<IThreadDumpProvider>(slow));
        using var budget = new CancellationTokenSource();
        var capture = runtime.Services.GetRequiredService<IThreadDumpService>().CaptureAsync(reason: "timeout", cancellationToken: budget.Token);
        await slow.Entered.Task;
        await budget.CancelAsync();

        var dump = await capture;
        Assert.Equal("core", dump.Method);
        Assert.Equal("timeout", dump.Reason);
        Assert.Contains("provider 'slow' was not available: it did not finish within the capture budget", dump.Notes);
    }

    [Fact]
    public async Task CaptureSlowerThanTheGracePeriod_AbandonmentWaitsForIt_AndTheDumpIsKeptWithTheJob()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var slow = new GatedProvider();
        await using var runtime = TestRuntime.Create(
            o =>
            {
                o.MaxConcurrency = 1;
                o.CancellationGracePeriod = TimeSpan.FromSeconds(1);
            },
            time,
            b => b.Services.AddSingleton<IThreadDumpProvider>(slow));
        try
        {
            var id = await runtime.Manager.SubmitAsync(new GateArgs("stuck", IgnoreCancellation: true), new JobSubmitOptions { Timeout = TimeSpan.FromSeconds(10) });
            await runtime.Gates.For("stuck").Started.Task;

            runtime.Advance(time, TimeSpan.FromSeconds(10));
            await slow.Entered.Task.WaitAsync(TimeSpan.FromMinutes(1));
            runtime.Advance(time, TimeSpan.FromSeconds(1));

            // The grace period has passed while the dump is still being captured: not abandoned yet
            // (the watchdog's abandonment ran inside Advance and deferred itself).
            var executor = runtime.Services.GetRequiredService<JobRuntime.IJobExecutor>();
            Assert.Equal(0, executor.AbandonedCount);
            slow.Release.TrySetResult();

            var job = await runtime.Manager.WaitForCompletionAsync(id).WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(JobStatus.TimedOut, job.Status);
            Assert.Contains("abandoned", job.Error!.Message, StringComparison.Ordinal);
            Assert.Equal(1, executor.AbandonedCount);
            Assert.Equal("gated", (await runtime.Manager.GetThreadDumpAsync(id))?.Method);
        }
        finally
        {
            // Also when an assertion failed: nothing left waiting keeps the runtime from disposing.
            slow.Release.TrySetResult();
            runtime.Gates.For("stuck").Open.TrySetResult();
        }
    }

    [Fact]
    public async Task Timeout_TheJobsTokenTripsOnceTheThreadsAreSampled_NotAfterTheDumpIsProcessed_AndTheRecordKeepsTheDump()
    {
        var provider = new SnapshotThenGatedProvider();
        await using var runtime = TestRuntime.Create(builder: b =>
        {
            b.AddHandler<HangingHandler>("hang");
            b.Services.AddSingleton<IThreadDumpProvider>(provider);
        });
        try
        {
            var id = await runtime.Manager.SubmitAsync(new HangArgs("sampled"), new JobSubmitOptions { Timeout = TimeSpan.FromMilliseconds(200) });
            await runtime.Gates.For("sampled").Started.Task.WaitAsync(TimeSpan.FromMinutes(1));

            // The provider took its snapshot and is still "processing" it (it waits for the test):
            // the job's token has tripped all the same, and the job's code has stopped.
            await provider.SnapshotTaken.Task.WaitAsync(TimeSpan.FromMinutes(1));
            var executor = runtime.Services.GetRequiredService<JobRuntime.IJobExecutor>();
            Assert.True(SpinWait.SpinUntil(() => !executor.IsRunning(id), TimeSpan.FromMinutes(1)), "the job still runs while its dump is processed");
            Assert.False(provider.Release.Task.IsCompleted);

            // Its record waits for the dump.
            Assert.Equal(JobStatus.Running, (await runtime.Manager.GetAsync(id))!.Status);
            provider.Release.TrySetResult();
            var job = await runtime.Manager.WaitForCompletionAsync(id).WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(JobStatus.TimedOut, job.Status);
            Assert.Equal("snapshot", (await runtime.Manager.GetThreadDumpAsync(id))?.Method);
            Assert.Contains("OuterJobAsync", string.Join("\n", (await runtime.Manager.GetThreadDumpAsync(id))!.AsyncChain), StringComparison.Ordinal);
        }
        finally
        {
            provider.Release.TrySetResult();
        }
    }

    /// <summary>Takes its snapshot at once (it says so), then "processes" it until the test lets it finish.</summary>
    private sealed class SnapshotThenGatedProvider : IThreadDumpProvider
    {
        public TaskCompletionSource SnapshotTaken { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "snapshot";

        public async ValueTask<ThreadDump> CaptureAsync(ThreadDumpRequest request, CancellationToken cancellationToken)
        {
            request.SnapshotTaken();
            SnapshotTaken.TrySetResult();
            await Release.Task;
            return new ThreadDump { CapturedAt = DateTimeOffset.UnixEpoch, Method = Name, Reason = request.Reason, JobId = request.JobId };
        }
    }

    /// <summary>A provider that captures only when the test lets it.</summary>
    private sealed class GatedProvider : IThreadDumpProvider
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "gated";

        public async ValueTask<ThreadDump> CaptureAsync(ThreadDumpRequest request, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            return new ThreadDump { CapturedAt = DateTimeOffset.UnixEpoch, Method = Name, Reason = request.Reason, JobId = request.JobId };
        }
    }

    private sealed class BrokenProvider : IThreadDumpProvider
    {
        public string Name => "broken";

        public ValueTask<ThreadDump> CaptureAsync(ThreadDumpRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the trace could not be parsed");
    }

    private sealed class SlowProvider : IThreadDumpProvider
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "slow";

        public async ValueTask<ThreadDump> CaptureAsync(ThreadDumpRequest request, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new UnreachableException();
        }
    }

    private static List<JobEvent> Drain(JobEventSubscription subscription)
    {
        var events = new List<JobEvent>();
        while (subscription.Reader.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }
}
