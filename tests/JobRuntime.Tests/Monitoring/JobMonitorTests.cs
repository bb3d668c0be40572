using System.Collections.Concurrent;
using JobRuntime.Tests.TestSupport;

namespace JobRuntime.Tests.Monitoring;

public sealed class JobMonitorTests
{
    [Fact]
    public async Task Events_AreRaisedOnTheCapturedContext_WithAnActiveCount()
    {
        await using var runtime = TestRuntime.Create();
        using var ui = new SingleThreadContext();
        var monitor = new JobMonitor(runtime.Broker, runtime.Manager, ui);
        var threads = new ConcurrentBag<int>();
        var counts = new ConcurrentQueue<int>();
        var finished = new TaskCompletionSource<JobEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var busy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        monitor.EventReceived += (_, _) => threads.Add(Environment.CurrentManagedThreadId);
        monitor.JobFinished += (_, e) => finished.TrySetResult(e);
        monitor.PropertyChanged += (_, e) =>
        {
            threads.Add(Environment.CurrentManagedThreadId);
            if (e.PropertyName == nameof(JobMonitor.ActiveCount))
            {
                counts.Enqueue(monitor.ActiveCount);
            }

            if (e.PropertyName == nameof(JobMonitor.IsBusy) && monitor.IsBusy)
            {
                busy.TrySetResult();
            }
        };

        // A job already running before the monitor starts is counted too.
        var before = await runtime.Manager.SubmitAsync(new GateArgs("before"));
        await runtime.Gates.For("before").Started.Task;
        await monitor.StartAsync();
        await busy.Task;

        runtime.Gates.For("before").Open.SetResult();
        var done = await finished.Task;

        Assert.Equal(before, done.JobId);
        Assert.Equal(JobEventKind.Completed, done.Kind);
        await monitor.DisposeAsync();
        await ui.Drain();
        Assert.All(threads, t => Assert.Equal(ui.ThreadId, t));
        Assert.Equal(1, counts.First());
        Assert.Equal(0, counts.Last());
        Assert.False(monitor.IsBusy);
    }

    /// <summary>A UI-like context: one thread runs every posted callback in order.</summary>
    private sealed class SingleThreadContext : SynchronizationContext, IDisposable
    {
        private readonly BlockingCollection<(SendOrPostCallback, object?)> _queue = [];
        private readonly Thread _thread;

        public SingleThreadContext()
        {
            _thread = new Thread(() =>
            {
                foreach (var (callback, state) in _queue.GetConsumingEnumerable())
                {
                    callback(state);
                }
            }) { IsBackground = true, Name = "fake UI thread" };
            _thread.Start();
        }

        public int ThreadId => _thread.ManagedThreadId;

        public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

        public Task Drain()
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Post(_ => done.SetResult(), null);
            return done.Task;
        }

        public void Dispose() => _queue.CompleteAdding();
    }
}
