using JobRuntime.TestSupport;
using System.Collections.Concurrent;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace JobRuntime.Tests.Engine;

/// <summary>The engine goes through the registered executor, broker and store: replacing or decorating one changes what runs.</summary>
public sealed class SeamTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ReplacedExecutor_EveryJobStartsAndStopsThroughIt()
    {
        CountingExecutor? counting = null;
        await using var runtime = TestRuntime.Create(builder: b => b.Services.Replace(ServiceDescriptor.Singleton<IJobExecutor>(sp =>
            counting = new CountingExecutor(new JobExecutor(sp.GetRequiredService<IOptions<JobRuntimeOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<RunningWorkItems>())))));

        var ids = new List<JobId>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await runtime.Manager.SubmitAsync(new EchoArgs(i)));
        }

        foreach (var id in ids)
        {
            Assert.Equal(JobStatus.Completed, (await runtime.Manager.WaitForCompletionAsync(id).WaitAsync(Guard)).Status);
        }

        var gated = await runtime.Manager.SubmitAsync(new GateArgs("seam"));
        await runtime.Gates.For("seam").Started.Task.WaitAsync(Guard);
        Assert.Equal(JobCancelOutcome.Requested, await runtime.Manager.CancelAsync(gated));
        Assert.Equal(JobStatus.Cancelled, (await runtime.Manager.WaitForCompletionAsync(gated).WaitAsync(Guard)).Status);

        Assert.NotNull(counting);
        Assert.Equal(4, counting.Started);
        Assert.Contains(gated, counting.Stopped);
    }

    [Fact]
    public async Task ReplacedBroker_CarriesEveryEventOfAJob_AndTheManagerWaitsThroughIt()
    {
        var recording = new RecordingBroker(new ProgressBroker(Options.Create(new JobRuntimeOptions())));
        await using var runtime = TestRuntime.Create(builder: b => b.Services.Replace(ServiceDescriptor.Singleton<IProgressBroker>(recording)));

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(5, Steps: 2));
        var result = await runtime.Manager.WaitForResultAsync<EchoResult>(id).WaitAsync(Guard);

        Assert.Equal(10, result.Doubled);
        var kinds = recording.Published.Where(e => e.JobId == id).Select(e => e.Kind).ToList();
        Assert.Equal(JobEventKind.Submitted, kinds[0]);
        Assert.Equal(JobEventKind.Started, kinds[1]);
        Assert.Equal(2, kinds.Count(k => k == JobEventKind.Progress));
        Assert.Equal(JobEventKind.Completed, kinds[^1]);
        Assert.True(recording.Subscriptions > 0);
    }

    [Fact]
    public async Task AJobNobodyWatches_CostsNoEvents_AndALateWatcherStillGetsItsState()
    {
        var recording = new RecordingBroker(new ProgressBroker(Options.Create(new JobRuntimeOptions())), askInner: true);
        await using var runtime = TestRuntime.Create(builder: b => b.Services.Replace(ServiceDescriptor.Singleton<IProgressBroker>(recording)));

        var a = await runtime.Manager.SubmitAsync(new EchoArgs(1, Steps: 3));
        var b = await runtime.Manager.SubmitAsync(new EchoArgs(2, Steps: 3));
        var last = await runtime.Manager.SubmitAsync(new EchoArgs(3), new JobSubmitOptions { DependsOn = [a, b] });
        await runtime.Manager.WaitForResultAsync<EchoResult>(last).WaitAsync(Guard);

        // Nobody subscribed to a or b while they ran: not one event was made for them.
        Assert.DoesNotContain(recording.Published, e => e.JobId == a || e.JobId == b);
        var watched = await runtime.Manager.WatchAsync(a).ToListAsync().AsTask().WaitAsync(Guard);
        var state = Assert.Single(watched);
        Assert.Equal(JobStatus.Completed, state.Status);
        Assert.Equal(JobEventKind.Completed, state.Kind);
        Assert.Equal(3, state.Progress!.Current);
    }

    [Fact]
    public async Task AWatcherWhoLeft_LeavesNoStaleState_TheNextOneStartsFromTheStore()
    {
        await using var runtime = TestRuntime.Create();
        var parent = await runtime.Manager.SubmitAsync(new GateArgs("stale-parent"));
        var a = await runtime.Manager.SubmitAsync(new GateArgs("stale"), new JobSubmitOptions { DependsOn = [parent] });

        // Watched from before it starts, so that its start is published (and kept by the broker)...
        await using (var watch = runtime.Manager.WatchAsync(a).GetAsyncEnumerator())
        {
            Assert.True(await watch.MoveNextAsync());
            Assert.Equal(JobStatus.Pending, watch.Current.Status);
            runtime.Gates.For("stale-parent").Open.TrySetResult();
            do
            {
                Assert.True(await watch.MoveNextAsync().AsTask().WaitAsync(Guard));
            }
            while (watch.Current.Kind != JobEventKind.Started);
        }

        // ...then left alone: it ends unwatched (so unpublished); a job after it says when.
        var after = await runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions { DependsOn = [a] });
        runtime.Gates.For("stale").Open.TrySetResult();
        await runtime.Manager.WaitForCompletionAsync(after).WaitAsync(Guard);

        // The next watcher's first event is the job's end, not the start the broker once had.
        await using var next = runtime.Manager.WatchAsync(a).GetAsyncEnumerator();
        Assert.True(await next.MoveNextAsync().AsTask().WaitAsync(Guard));
        Assert.Equal(JobStatus.Completed, next.Current.Status);
    }

    [Fact]
    public async Task DecoratedStore_EveryCallGoesThroughTheDecorator()
    {
        CountingStore? counter = null;
        await using var runtime = TestRuntime.Create(builder: b => b.DecorateStore((_, inner) => CountingStore.Wrap(inner, out counter)));

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(2));
        Assert.Equal(4, (await runtime.Manager.WaitForResultAsync<EchoResult>(id).WaitAsync(Guard)).Doubled);

        Assert.NotNull(counter);
        Assert.Equal(1, counter.CallsTo(nameof(JobRuntime.Storage.IJobStore.InsertAsync)));
        Assert.True(counter.CallsTo(nameof(JobRuntime.Storage.IJobStore.ClaimAsync)) >= 1);
        Assert.Equal(1, counter.CallsTo(nameof(JobRuntime.Storage.IJobStore.CompleteAsync)));
    }

    [Fact]
    public void DecorateStore_WithoutAStore_SaysWhatIsMissing()
    {
        var builder = new ServiceCollection().AddJobRuntime();
        builder.Services.RemoveAll<JobRuntime.Storage.IJobStore>();

        var error = Assert.Throws<InvalidOperationException>(() => builder.DecorateStore((_, inner) => inner));
        Assert.Contains("No store is registered", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Passes everything to the runtime's own executor and records what the engine asked of it.</summary>
    private sealed class CountingExecutor(JobExecutor inner) : IJobExecutor, IAsyncDisposable
    {
        private int _started;

        public int Started => Volatile.Read(ref _started);

        public ConcurrentBag<JobId> Stopped { get; } = [];

        public int MaxConcurrency => inner.MaxConcurrency;

        public int RunningCount => inner.RunningCount;

        public long AbandonedCount => inner.AbandonedCount;

        public int AvailableSlots => inner.AvailableSlots;

        public event Action? SlotFreed
        {
            add => inner.SlotFreed += value;
            remove => inner.SlotFreed -= value;
        }

        public IReadOnlyDictionary<string, int>? GetQueueAvailability() => inner.GetQueueAvailability();

        public Task<JobExecutionResult> ExecuteAsync(JobExecutionRequest request, CancellationToken cancellationToken = default) => inner.ExecuteAsync(request, cancellationToken);

        public bool TryStart(JobWorkItem item)
        {
            var started = inner.TryStart(item);
            if (started)
            {
                Interlocked.Increment(ref _started);
            }

            return started;
        }

        public bool TryStop(JobId jobId, JobStopReason reason)
        {
            Stopped.Add(jobId);
            return inner.TryStop(jobId, reason);
        }

        public bool IsRunning(JobId jobId) => inner.IsRunning(jobId);

        public Task StopAllAsync(JobStopReason reason) => inner.StopAllAsync(reason);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>A broker of the user's own (here around the built-in one) that records what was published.</summary>
    /// <summary>Records what is published; with <paramref name="askInner"/>, says who listens as the inner broker does (else: always, the interface's default).</summary>
    private sealed class RecordingBroker(IProgressBroker inner, bool askInner = false) : IProgressBroker
    {
        private int _subscriptions;

        public ConcurrentQueue<JobEvent> Published { get; } = new();

        public int Subscriptions => Volatile.Read(ref _subscriptions);

        public void Publish(JobEvent jobEvent)
        {
            Published.Enqueue(jobEvent);
            inner.Publish(jobEvent);
        }

        public JobEventSubscription Subscribe(JobId jobId, int? bufferCapacity = null)
        {
            Interlocked.Increment(ref _subscriptions);
            return inner.Subscribe(jobId, bufferCapacity);
        }

        public JobEventSubscription SubscribeAll(int? bufferCapacity = null) => inner.SubscribeAll(bufferCapacity);

        public bool TryGetState(JobId jobId, out JobEventState state) => inner.TryGetState(jobId, out state);

        public bool HasSubscribers(JobId jobId) => !askInner || inner.HasSubscribers(jobId);
    }
}
