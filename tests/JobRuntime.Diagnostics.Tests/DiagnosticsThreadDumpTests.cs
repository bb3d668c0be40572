using System.Runtime.CompilerServices;
using JobRuntime.Diagnostics;
using JobRuntime.ThreadDumps;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace JobRuntime.Diagnostics.Tests;

/// <summary>
/// The JobRuntime.Diagnostics providers on real hangs in this test process. One class, so that its
/// captures never overlap.
/// </summary>
public sealed class DiagnosticsThreadDumpTests(ITestOutputHelper output, DiagnosticsThreadDumpTests.WarmCapture warm) : IDisposable, IClassFixture<DiagnosticsThreadDumpTests.WarmCapture>
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly string _temp = Directory.CreateTempSubdirectory("jr-diag-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task SynchronousHandlerStuckInMonitorWait_TimesOut_DumpShowsStuckInFitLoopOnTheJobsThread()
    {
        var latch = new Latch();
        await using var provider = Build(b => b.AddHandler<FitLoopHandler>("fit"), latch: latch);
        var jobs = provider.GetRequiredService<IJobManager>();
        try
        {
            var id = await jobs.SubmitAsync("fit", 3, new JobSubmitOptions { Timeout = TimeSpan.FromMilliseconds(300) });
            var job = await jobs.WaitForCompletionAsync(id).WaitAsync(Guard);

            // The handler ignores its token: it is abandoned after the grace period, still TimedOut.
            Assert.Equal(JobStatus.TimedOut, job.Status);
            var dump = await jobs.GetThreadDumpAsync(id);
            Assert.NotNull(dump);
            output.WriteLine(dump.ToText());
            Assert.True(dump.Method == "eventpipe", $"captured via {dump.Method}: {string.Join("; ", dump.Notes)}");
            var thread = Assert.Single(dump.Threads, t => t.IsJobThread);
            Assert.Equal(id, thread.JobId);
            var stuck = thread.Frames.ToList().FindIndex(f => f.Contains("FitLoopHandler.StuckInFitLoop", StringComparison.Ordinal));
            Assert.True(stuck >= 0, "job thread frames: " + string.Join(" | ", thread.Frames));
            Assert.Contains(thread.Frames.Take(stuck), f => f.Contains("Monitor", StringComparison.Ordinal) && f.Contains("Wait", StringComparison.Ordinal));
            Assert.Contains($"<<< job {id} timeout", dump.ToText(), StringComparison.Ordinal);

            // Every managed thread is listed, not only the job's, but none busy with the capture
            // itself; nothing is left in the temp folder.
            Assert.True(dump.Threads.Count > 1);
            Assert.DoesNotContain(dump.Threads, t => t.Frames.Any(f => f.StartsWith("Microsoft.Diagnostics.NETCore.Client.", StringComparison.Ordinal) || f.StartsWith("JobRuntime.Diagnostics.EventPipeThreadDumpProvider", StringComparison.Ordinal)));
            Assert.Empty(Directory.EnumerateFileSystemEntries(_temp));
        }
        finally
        {
            latch.Release();
        }
    }

    [Fact]
    public async Task AsyncHang_EventPipeDump_KeepsTheJobsAsyncChainInOrder()
    {
        var gate = new Gate();
        await using var provider = Build(b => b.AddHandler<HangingHandler>("hang"), gate: gate);
        var jobs = provider.GetRequiredService<IJobManager>();
        var id = await jobs.SubmitAsync("hang", 1, new JobSubmitOptions { Timeout = TimeSpan.FromMilliseconds(300) });
        Assert.Equal(JobStatus.TimedOut, (await jobs.WaitForCompletionAsync(id).WaitAsync(Guard)).Status);

        var dump = await jobs.GetThreadDumpAsync(id);
        Assert.NotNull(dump);
        Assert.True(dump.Method == "eventpipe", $"captured via {dump.Method}: {string.Join("; ", dump.Notes)}");
        var chain = dump.AsyncChain.ToList();
        var outer = chain.FindIndex(f => f.EndsWith("HangingHandler.OuterJobAsync", StringComparison.Ordinal));
        var inner = chain.FindIndex(f => f.EndsWith("HangingHandler.InnerStepAsync", StringComparison.Ordinal));
        Assert.True(outer >= 0 && inner > outer, "chain: " + string.Join(" -> ", chain));
    }

    [Fact]
    public async Task DeepMode_ListsThreadNamesAndEveryPendingAsyncChain()
    {
        var gate = new Gate();
        await using var provider = Build(b => b.AddHandler<HangingHandler>("hang"), o => o.DeepMode = true, gate: gate);
        var jobs = provider.GetRequiredService<IJobManager>();
        using var release = new ManualResetEventSlim();
        var named = new Thread(() => release.Wait()) { Name = "jr-named-waiter", IsBackground = true };
        named.Start();
        try
        {
            var id = await jobs.SubmitAsync("hang", 2);
            await gate.Started.Task.WaitAsync(Guard);
            var dump = await provider.GetRequiredService<IThreadDumpService>().CaptureAsync(id).WaitAsync(Guard);
            output.WriteLine(dump.ToText());

            Assert.True(dump.Method == "heapdump", $"captured via {dump.Method}: {string.Join("; ", dump.Notes)}");
            var waiter = Assert.Single(dump.Threads, t => t.Name == "jr-named-waiter");
            Assert.Equal(named.ManagedThreadId, waiter.ManagedThreadId);
            Assert.Contains(waiter.Frames, f => f.Contains("ManualResetEventSlim.Wait", StringComparison.Ordinal));
            Assert.Contains(dump.PendingAsyncChains, c =>
            {
                var outer = c.ToList().FindIndex(f => f.EndsWith("HangingHandler.OuterJobAsync", StringComparison.Ordinal));
                var inner = c.ToList().FindIndex(f => f.EndsWith("HangingHandler.InnerStepAsync", StringComparison.Ordinal));
                return outer >= 0 && inner > outer;
            });
            Assert.Empty(Directory.EnumerateFileSystemEntries(_temp));
            Assert.Equal(JobCancelOutcome.Requested, await jobs.CancelAsync(id));
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task CapturesWithinTheMinimumInterval_ReuseOneCapture_LaterOnesCaptureAgain()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        await using var provider = Build(_ => { }, time: clock);
        var dumps = provider.GetRequiredService<IThreadDumpService>();

        Assert.Equal("eventpipe", warm.Warmed.Method);
        var first = await dumps.CaptureAsync().WaitAsync(Guard);
        var second = await dumps.CaptureAsync(reason: "stall").WaitAsync(Guard);
        clock.Advance(TimeSpan.FromSeconds(1));
        var third = await dumps.CaptureAsync().WaitAsync(Guard);

        Assert.True(first.Method == "eventpipe", $"captured via {first.Method}: {string.Join("; ", first.Notes)}");
        Assert.DoesNotContain(first.Notes, n => n.StartsWith("reused", StringComparison.Ordinal));
        Assert.Equal("stall", second.Reason);
        Assert.Contains(second.Notes, n => n.StartsWith("reused the capture", StringComparison.Ordinal));
        Assert.Equal(first.Threads.Select(t => t.OsThreadId), second.Threads.Select(t => t.OsThreadId));
        Assert.DoesNotContain(third.Notes, n => n.StartsWith("reused", StringComparison.Ordinal));
    }

    [Fact]
    public void Dump_LeavesOutTheThreadsBusyWithTheCaptureItself_AndSaysSo()
    {
        ThreadDumpThread Thread(int id, params string[] frames) => new() { OsThreadId = id, Frames = frames };
        var threads = new[]
        {
            Thread(1, "MyApp.Handler.ExecuteAsync", "System.Threading.Thread.StartCallback()"),
            Thread(2, "Microsoft.Diagnostics.NETCore.Client.EventPipeSession.StopAsync(value class System.Threading.CancellationToken)", "JobRuntime.Diagnostics.EventPipeThreadDumpProvider+<RecordAsync>d__8.MoveNext()"),
            Thread(3, "Microsoft.Diagnostics.Tracing.Etlx.TraceLog.CreateFromEventPipeDataFile(class System.String)"),
            Thread(4, "JobRuntime.JobExecutor.MonitorLoop()"),
            Thread(5, "Microsoft.Diagnostics.Runtime.DataTarget.LoadDump(class System.String)", "MyApp.DiagnoseHandler.ExecuteAsync"),
        };
        RunningJobInfo[] running = [new() { JobId = JobId.New(DateTimeOffset.UtcNow), Name = "diagnose", OsThreadId = 5 }];

        var dump = new Capture(TimeProvider.System).Dump("eventpipe", new ThreadDumpRequest(null, "on demand", running), threads);

        // Thread 5 runs ClrMD too, but for a job: a job's thread is always shown.
        Assert.Equal([1L, 4L, 5L], dump.Threads.Select(t => t.OsThreadId));
        Assert.Contains("left out 2 thread(s) busy with this capture", dump.Notes);
    }

    [Fact]
    public void BadOptions_AreRejectedWhenTheProviderIsResolved()
    {
        using var provider = Build(_ => { }, o => o.SampleDuration = TimeSpan.Zero);
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetServices<IThreadDumpProvider>().ToList());
        Assert.Contains("SampleDuration", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepMode_SetByConfigurationBoundAfterRegistration_TakesPart()
    {
        var services = new ServiceCollection();
        services.AddJobRuntime().AddThreadDumpDiagnostics();
        services.Configure<ThreadDumpDiagnosticsOptions>(o => o.DeepMode = true);
        using var provider = services.BuildServiceProvider();

        var heap = Assert.Single(provider.GetServices<IThreadDumpProvider>().OfType<HeapDumpThreadDumpProvider>());
        Assert.True(heap.IsEnabled);
    }

    [Fact]
    public async Task DeepModeOff_TheHeapDumpIsSkippedWithoutANote()
    {
        using var provider = Build(_ => { });

        Assert.False(Assert.Single(provider.GetServices<IThreadDumpProvider>().OfType<HeapDumpThreadDumpProvider>()).IsEnabled);
        var dump = await provider.GetRequiredService<IThreadDumpService>().CaptureAsync().WaitAsync(Guard);
        Assert.DoesNotContain(dump.Notes, n => n.Contains("heapdump", StringComparison.Ordinal));
    }

    [Fact]
    public void BadOptions_EveryErrorAtOnce()
    {
        using var provider = Build(_ => { }, o =>
        {
            o.SampleDuration = TimeSpan.FromMinutes(1);
            o.TempDirectory = Path.Combine(_temp, "missing");
        });
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ThreadDumpDiagnosticsOptions>>().Value);
        Assert.Equal(2, ex.Failures.Count());
    }

    private ServiceProvider Build(Action<JobRuntimeBuilder> handlers, Action<ThreadDumpDiagnosticsOptions>? configure = null, Latch? latch = null, Gate? gate = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection()
            .AddSingleton(latch ?? new Latch())
            .AddSingleton(gate ?? new Gate());
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        // The capture at a deadline may take up to the grace period: generous, so that the
        // EventPipe capture (a few hundred ms on a loaded machine) is never cut short.
        var builder = services.AddJobRuntime(o => o.CancellationGracePeriod = TimeSpan.FromSeconds(5))
            .AddThreadDumpDiagnostics(o =>
            {
                o.TempDirectory = _temp;
                configure?.Invoke(o);
            });
        handlers(builder);
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// One untimed capture before the tests: the process's first EventPipe capture compiles
    /// TraceEvent's code (1.5 s on an idle machine, more on a loaded one), which would otherwise eat
    /// into the first test's capture budget at its deadline.
    /// </summary>
    public sealed class WarmCapture
    {
        public WarmCapture()
        {
            var provider = new EventPipeThreadDumpProvider(Options.Create(new ThreadDumpDiagnosticsOptions()));
            Warmed = provider.CaptureAsync(new ThreadDumpRequest(null, "warm-up", []), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        public ThreadDump Warmed { get; }
    }

    public sealed class Latch
    {
        private bool _released;

        public object Gate { get; } = new();

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsReleased => _released;

        public void Release()
        {
            lock (Gate)
            {
                _released = true;
                Monitor.PulseAll(Gate);
            }
        }
    }

    public sealed class Gate
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A synchronous fit that never converges: it waits on a monitor nobody pulses, ignoring its token.</summary>
    public sealed class FitLoopHandler(Latch latch) : IJobHandler<int, int>
    {
        public ValueTask<int> ExecuteAsync(int args, JobContext context) => ValueTask.FromResult(StuckInFitLoop(args));

        [MethodImpl(MethodImplOptions.NoInlining)]
        private int StuckInFitLoop(int iterations)
        {
            lock (latch.Gate)
            {
                latch.Entered.TrySetResult();
                while (!latch.IsReleased)
                {
                    Monitor.Wait(latch.Gate);
                }
            }

            return iterations;
        }
    }

    /// <summary>An async handler that hangs two calls deep, on a task nobody completes.</summary>
    public sealed class HangingHandler(Gate gate) : IJobHandler<int, int>
    {
        public async ValueTask<int> ExecuteAsync(int args, JobContext context) => await OuterJobAsync(args, context.CancellationToken);

        private async Task<int> OuterJobAsync(int n, CancellationToken cancellationToken)
        {
            await InnerStepAsync(cancellationToken);
            return n;
        }

        private async Task InnerStepAsync(CancellationToken cancellationToken)
        {
            var never = new TaskCompletionSource();
            gate.Started.TrySetResult();
            await never.Task.WaitAsync(cancellationToken);
        }
    }
}
