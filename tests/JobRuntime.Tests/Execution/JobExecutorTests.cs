using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace JobRuntime.Tests.Execution;

public sealed class JobExecutorTests
{
    private static JobExecutor NewExecutor(int maxConcurrency = 2, TimeProvider? time = null, TimeSpan? grace = null)
        => new(Options.Create(new JobRuntimeOptions { MaxConcurrency = maxConcurrency, CancellationGracePeriod = grace ?? TimeSpan.FromSeconds(5) }), time ?? TimeProvider.System);

    private static JobExecutionRequest Work(Func<CancellationToken, ValueTask<object?>> work, TimeSpan? timeout = null)
        => new(JobId.New(), "test", work) { Timeout = timeout };

    [Fact]
    public async Task ExecuteAsync_ThousandItems_NeverExceedsTheBound()
    {
        await using var executor = NewExecutor(maxConcurrency: 3);
        var current = 0;
        var max = 0;

        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => executor.ExecuteAsync(Work(async _ =>
        {
            var now = Interlocked.Increment(ref current);
            InterlockedMax(ref max, now);
            await Task.Yield();
            Interlocked.Decrement(ref current);
            return i;
        }))));

        Assert.All(results, r => Assert.Equal(JobExecutionStatus.Succeeded, r.Status));
        Assert.Equal(Enumerable.Range(0, 1000).Cast<object>(), results.Select(r => r.Value));
        Assert.InRange(max, 1, 3);
        Assert.Equal(0, executor.RunningCount);
    }

    [Fact]
    public async Task ExecuteAsync_NeverRunsWorkOnTheCallersContext()
    {
        await using var executor = NewExecutor();
        var callerThread = Environment.CurrentManagedThreadId;

        var result = await executor.ExecuteAsync(Work(_ => ValueTask.FromResult<object?>(
            (Environment.CurrentManagedThreadId, SynchronizationContext.Current is null))));

        var (thread, noContext) = ((int, bool))result.Value!;
        Assert.NotEqual(callerThread, thread);
        Assert.True(noContext);
    }

    [Fact]
    public async Task ExecuteAsync_Throws_IsFaultedWithTheException()
    {
        await using var executor = NewExecutor();

        var result = await executor.ExecuteAsync(Work(_ => throw new InvalidOperationException("nope")));

        Assert.Equal(JobExecutionStatus.Faulted, result.Status);
        Assert.Equal("nope", Assert.IsType<InvalidOperationException>(result.Exception).Message);
    }

    [Fact]
    public async Task ExecuteAsync_OwnCancellationWithoutAStop_IsFaulted()
    {
        await using var executor = NewExecutor();

        var result = await executor.ExecuteAsync(Work(_ => throw new OperationCanceledException("internal")));

        Assert.Equal(JobExecutionStatus.Faulted, result.Status);
    }

    [Fact]
    public async Task ExecuteAsync_CallerCancels_EndsCancelled()
    {
        await using var executor = NewExecutor();
        using var cts = new CancellationTokenSource();
        var started = new TaskCompletionSource();

        var running = executor.ExecuteAsync(Work(async token =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, token);
            return null;
        }), cts.Token);
        await started.Task;
        await cts.CancelAsync();

        Assert.Equal(JobExecutionStatus.Cancelled, (await running).Status);
    }

    [Theory]
    [InlineData(JobStopReason.Cancelled, JobExecutionStatus.Cancelled)]
    [InlineData(JobStopReason.TimedOut, JobExecutionStatus.TimedOut)]
    [InlineData(JobStopReason.Shutdown, JobExecutionStatus.Shutdown)]
    public async Task TryStop_Reason_DecidesTheOutcome(JobStopReason reason, JobExecutionStatus expected)
    {
        await using var executor = NewExecutor();
        var started = new TaskCompletionSource();
        var request = Work(async token =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, token);
            return null;
        });

        var running = executor.ExecuteAsync(request);
        await started.Task;
        Assert.True(executor.IsRunning(request.JobId));
        Assert.True(executor.TryStop(request.JobId, reason));
        Assert.False(executor.TryStop(request.JobId, JobStopReason.Cancelled));

        Assert.Equal(expected, (await running).Status);
        Assert.False(executor.TryStop(request.JobId, reason));
    }

    [Fact]
    public async Task Timeout_OnTheFakeClock_StopsTheItemAsTimedOut()
    {
        var time = new FakeTimeProvider();
        await using var executor = NewExecutor(time: time);
        var started = new TaskCompletionSource();

        var running = executor.ExecuteAsync(Work(async token =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, token);
            return null;
        }, timeout: TimeSpan.FromMinutes(1)));
        await started.Task;
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(running.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        var result = await running;
        Assert.Equal(JobExecutionStatus.TimedOut, result.Status);
        Assert.False(result.Abandoned);
    }

    [Fact]
    public async Task Timeout_IgnoredPastTheGracePeriod_AbandonsAndFreesTheSlot()
    {
        var time = new FakeTimeProvider();
        await using var executor = NewExecutor(maxConcurrency: 1, time: time, grace: TimeSpan.FromSeconds(3));
        var started = new TaskCompletionSource();
        var release = new TaskCompletionSource();

        var stuck = executor.ExecuteAsync(Work(async _ =>
        {
            started.SetResult();
            await release.Task;
            return "late";
        }, timeout: TimeSpan.FromSeconds(10)));
        await started.Task;
        var next = executor.ExecuteAsync(Work(_ => ValueTask.FromResult<object?>("next")));

        time.Advance(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(3));

        var result = await stuck;
        Assert.Equal(JobExecutionStatus.TimedOut, result.Status);
        Assert.True(result.Abandoned);
        Assert.Equal("next", (await next).Value);
        Assert.Equal(1, executor.AbandonedCount);
        release.SetResult();
    }

    [Fact]
    public async Task ItemsBlockingTheirPoolThread_AreCompensatedWhileTheyBlock_NotThoseThatAwait()
    {
        await using var executor = NewExecutor(maxConcurrency: 8);
        using var release = new ManualResetEventSlim();
        var awaitRelease = new TaskCompletionSource();
        var blocking = Enumerable.Range(0, 2).Select(_ => executor.ExecuteAsync(Work(_ =>
        {
            release.Wait();    // holds its pool thread, no timeout involved
            return ValueTask.FromResult<object?>("done");
        }))).ToList();
        var awaiting = executor.ExecuteAsync(Work(async _ =>
        {
            await awaitRelease.Task;
            return "done";
        }));

        // The blocking monitor runs on a thread of its own every 250 ms: wait for what it decides.
        Assert.True(SpinWait.SpinUntil(() => executor.CompensatedThreads == 2, TimeSpan.FromSeconds(60)), $"{executor.CompensatedThreads} compensations, expected 2.");

        release.Set();
        foreach (var item in blocking)
        {
            Assert.Equal("done", (await item.WaitAsync(TimeSpan.FromSeconds(60))).Value);
        }

        Assert.True(SpinWait.SpinUntil(() => executor.CompensatedThreads == 0, TimeSpan.FromSeconds(60)), $"{executor.CompensatedThreads} compensations left.");
        awaitRelease.SetResult();
        Assert.Equal("done", (await awaiting.WaitAsync(TimeSpan.FromSeconds(60))).Value);
    }

    [Fact]
    public async Task Abandoned_StillBlockingItsPoolThread_ThePoolGetsOneMoreUntilItReturns()
    {
        var time = new FakeTimeProvider();
        await using var executor = NewExecutor(maxConcurrency: 8, time: time, grace: TimeSpan.FromSeconds(1));
        using var release = new ManualResetEventSlim();
        var blocking = 0;
        var allBlocking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuck = Enumerable.Range(0, 4).Select(_ => executor.ExecuteAsync(Work(_ =>
        {
            if (Interlocked.Increment(ref blocking) == 4)
            {
                allBlocking.SetResult();
            }

            release.Wait();    // a synchronous wait that ignores the token
            return ValueTask.FromResult<object?>("late");
        }, timeout: TimeSpan.FromSeconds(10)))).ToList();

        // One that waits asynchronously holds no thread: nothing to compensate. (Its start signal runs
        // the test's continuation elsewhere: inline, the test would hold the job's thread and look blocked.)
        var asyncStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var asyncRelease = new TaskCompletionSource();
        var awaiting = executor.ExecuteAsync(Work(async _ =>
        {
            asyncStarted.SetResult();
            await asyncRelease.Task;
            return null;
        }, timeout: TimeSpan.FromSeconds(10)));
        await allBlocking.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await asyncStarted.Task.WaitAsync(TimeSpan.FromSeconds(60));

        time.Advance(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(1));
        foreach (var item in stuck)
        {
            Assert.True((await item.WaitAsync(TimeSpan.FromSeconds(60))).Abandoned);
        }

        Assert.True((await awaiting.WaitAsync(TimeSpan.FromSeconds(60))).Abandoned);
        Assert.Equal(4, executor.CompensatedThreads);
        Assert.Equal("next", (await executor.ExecuteAsync(Work(_ => ValueTask.FromResult<object?>("next"))).WaitAsync(TimeSpan.FromSeconds(60))).Value);

        // Each blocked thread returns to the pool: its compensation is withdrawn.
        release.Set();
        Assert.True(SpinWait.SpinUntil(() => executor.CompensatedThreads == 0, TimeSpan.FromSeconds(60)), $"{executor.CompensatedThreads} compensations left.");
        asyncRelease.SetResult();
    }

    [Fact]
    public async Task ExecuteAsync_CancelledWhileWaitingForASlot_ThrowsAndRunsNothing()
    {
        await using var executor = NewExecutor(maxConcurrency: 1);
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var busy = executor.ExecuteAsync(Work(async _ =>
        {
            started.SetResult();
            await release.Task;
            return null;
        }));
        await started.Task;
        using var cts = new CancellationTokenSource();
        var ran = false;

        var waiting = executor.ExecuteAsync(Work(_ =>
        {
            ran = true;
            return ValueTask.FromResult<object?>(null);
        }), cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        release.SetResult();
        await busy;
        Assert.False(ran);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
