using System.Collections.Concurrent;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Tests.Workers;

public sealed class WorkerManagerTests
{
    [Fact]
    public async Task Submit_Success_ReturnsAtOnceAndReportsTheValue()
    {
        await using var runtime = TestRuntime.Create();
        var workers = runtime.Services.GetRequiredService<WorkerManager>();
        var release = new TaskCompletionSource();
        var completed = new TaskCompletionSource<WorkerResult<int>>();
        var events = new ConcurrentQueue<string>();
        workers.Started += (_, e) => events.Enqueue("started " + e.Name);
        workers.Completed += (_, e) => events.Enqueue("completed " + e.Name);

        var task = workers.Submit("answer", async ct =>
        {
            await release.Task.WaitAsync(ct);
            return 42;
        }, onComplete: r => completed.SetResult(r));

        // Submit returned while the work is still waiting.
        Assert.False(task.Completion.IsCompleted);
        release.SetResult();
        var result = await task.Completion;

        Assert.True(result.Success);
        Assert.Equal(42, result.Value);
        Assert.Equal("answer", result.Name);
        Assert.Same(result, await completed.Task);
        Assert.Equal(["started answer", "completed answer"], events);
    }

    [Fact]
    public async Task Submit_Throws_ReportsTheErrorWithItsStackTrace()
    {
        await using var runtime = TestRuntime.Create();
        var workers = runtime.Services.GetRequiredService<WorkerManager>();
        var errors = new TaskCompletionSource<WorkerEventArgs>();
        workers.Error += (_, e) => errors.TrySetResult(e);
        var onError = new TaskCompletionSource<WorkerResult<int>>();

        var result = await workers.Submit<int>("broken", _ => ThrowingStepAsync(), onError: r => onError.SetResult(r)).Completion;

        Assert.False(result.Success);
        Assert.IsType<InvalidOperationException>(result.Error);
        Assert.Contains(nameof(ThrowingStepAsync), result.StackTrace, StringComparison.Ordinal);
        Assert.Same(result, await onError.Task);
        Assert.Same(result.Error, (await errors.Task).Error);
    }

    [Fact]
    public async Task Submit_Timeout_EndsTimedOutWithADumpOfWhereItHung()
    {
        await using var runtime = TestRuntime.Create();
        var workers = runtime.Services.GetRequiredService<WorkerManager>();
        var timedOut = new TaskCompletionSource<WorkerEventArgs>();
        workers.TimedOut += (_, e) => timedOut.TrySetResult(e);

        var result = await workers.Submit("stuck", ct => WaitForeverAsync(ct), timeout: TimeSpan.FromMilliseconds(100)).Completion;

        Assert.True(result.TimedOut);
        Assert.False(result.Success);
        Assert.NotNull(result.ThreadDump);
        Assert.Contains(result.ThreadDump.AsyncChain, step => step.EndsWith(nameof(WaitForeverAsync), StringComparison.Ordinal));
        Assert.Contains(nameof(WaitForeverAsync), result.StackTrace, StringComparison.Ordinal);
        Assert.Same(result.ThreadDump, (await timedOut.Task).ThreadDump);
    }

    [Fact]
    public async Task Shutdown_WithPendingWork_CancelsItWithoutRunningIt_AndNeverHangs()
    {
        await using var runtime = TestRuntime.Create(o => o.MaxConcurrency = 1);
        var workers = runtime.Services.GetRequiredService<WorkerManager>();
        var started = new TaskCompletionSource();
        var ran = 0;
        var busy = workers.Submit("busy", async ct =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        });
        await started.Task;
        var pending = Enumerable.Range(0, 3).Select(i => workers.Submit($"pending {i}", _ =>
        {
            Interlocked.Increment(ref ran);
            return Task.FromResult(i);
        })).ToList();

        Assert.True(await workers.ShutdownAsync(wait: true, timeout: TimeSpan.FromMinutes(1)));

        var busyResult = await busy.Completion;
        Assert.True(busyResult.Cancelled, $"busy ended {busyResult}");
        foreach (var task in pending)
        {
            var result = await task.Completion;
            Assert.True(result.Cancelled);
            Assert.False(result.Success);
        }

        Assert.Equal(0, ran);
        Assert.Equal(0, workers.ActiveCount);
        Assert.Throws<InvalidOperationException>(() => workers.Submit("late", _ => Task.FromResult(1)));
    }

    [Fact]
    public async Task Cancel_RunningTask_EndsCancelled()
    {
        await using var runtime = TestRuntime.Create();
        var workers = runtime.Services.GetRequiredService<WorkerManager>();
        var started = new TaskCompletionSource();
        var task = workers.Submit("cancel me", async ct =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        });
        await started.Task;

        task.Cancel();

        var result = await task.Completion;
        Assert.True(result.Cancelled);
        Assert.False(result.TimedOut);
        task.Cancel();
    }

    [Fact]
    public async Task SynchronousDisposeOfTheProvider_AfterUsingWorkers_StopsThemWithoutThrowing()
    {
        var runtime = TestRuntime.Create();
        var workers = runtime.Services.GetRequiredService<WorkerManager>();
        var started = new TaskCompletionSource();
        var task = workers.Submit("running at dispose", async ct =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        });
        await started.Task;

        runtime.Services.Dispose();

        Assert.True((await task.Completion).Cancelled);
    }

    private static async Task<int> ThrowingStepAsync()
    {
        await Task.Yield();
        throw new InvalidOperationException("the device said no");
    }

    private static async Task<int> WaitForeverAsync(CancellationToken cancellationToken)
    {
        await new TaskCompletionSource().Task.WaitAsync(cancellationToken);
        return 0;
    }
}
