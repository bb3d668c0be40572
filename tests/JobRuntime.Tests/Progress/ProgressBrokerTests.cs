using Microsoft.Extensions.Options;

namespace JobRuntime.Tests.Progress;

public sealed class ProgressBrokerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ProgressBroker NewBroker(int capacity = 16)
        => new(Options.Create(new JobRuntimeOptions { SubscriberBufferCapacity = capacity }));

    private static JobEvent Lifecycle(JobId id, JobEventKind kind, JobStatus status) => new(id, kind, status, T0);

    private static JobEvent Progress(JobId id, long current, long total = 100) => new(id, JobEventKind.Progress, JobStatus.Running, T0) { Progress = new JobProgress(current, total) };

    private static List<JobEvent> Drain(JobEventSubscription subscription)
    {
        var events = new List<JobEvent>();
        while (subscription.Reader.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task Publish_FanOutTo100WithOneSlowSubscriber_PublisherNeverWaitsAndEveryoneGetsTheEnd()
    {
        var broker = NewBroker(capacity: 8);
        var id = JobId.New();
        var fast = Enumerable.Range(0, 99).Select(_ => broker.Subscribe(id)).ToList();
        using var slow = broker.Subscribe(id);
        var readers = fast.Select(s => Task.Run(async () =>
        {
            var seen = new List<JobEvent>();
            await foreach (var e in s.ReadAllAsync())
            {
                seen.Add(e);
            }

            return seen;
        })).ToList();

        // The slow subscriber reads nothing until the publisher is done; the publisher must finish regardless.
        broker.Publish(Lifecycle(id, JobEventKind.Started, JobStatus.Running));
        for (var i = 1; i <= 10_000; i++)
        {
            broker.Publish(Progress(id, i, 10_000));
        }

        broker.Publish(Lifecycle(id, JobEventKind.Completed, JobStatus.Completed));

        foreach (var seen in await Task.WhenAll(readers))
        {
            Assert.Equal(JobEventKind.Started, seen[0].Kind);
            Assert.Equal(JobEventKind.Completed, seen[^1].Kind);
            Assert.Equal(10_000, seen.Last(e => e.Kind == JobEventKind.Progress).Progress!.Current);
            Assert.Equal(seen.Select(e => e.Sequence).Order(), seen.Select(e => e.Sequence));
        }

        var slowSeen = Drain(slow);
        Assert.True(slow.DroppedCount > 0);
        Assert.Equal(JobEventKind.Started, slowSeen[0].Kind);
        Assert.Equal(JobEventKind.Completed, slowSeen[^1].Kind);
        Assert.InRange(slowSeen.Count(e => e.Kind == JobEventKind.Progress), 1, 8);
        Assert.Equal(10_000, slowSeen.Last(e => e.Kind == JobEventKind.Progress).Progress!.Current);
        await slow.Reader.Completion.WaitAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Subscribe_WhileManySubscribersAreBeingServed_NoLifecycleEventIsMissedOrRepeated()
    {
        // More subscribers than the publisher serves itself: delivery runs on the thread pool while
        // the publisher goes on and while late subscribers join.
        var broker = NewBroker(capacity: 4);
        var id = JobId.New();
        broker.Publish(Lifecycle(id, JobEventKind.Started, JobStatus.Running));
        var subscriptions = Enumerable.Range(0, FanOut.InlineLimit * 4).Select(_ => broker.Subscribe(id)).ToList();
        var late = new List<JobEventSubscription>();
        var published = new List<long>();
        for (var i = 0; i < 5_000; i++)
        {
            var warning = Lifecycle(id, JobEventKind.Warning, JobStatus.Running);
            broker.Publish(warning);
            published.Add(warning.Sequence);
            broker.Publish(Progress(id, i));
            if (i % 500 == 0)
            {
                late.Add(broker.Subscribe(id));
            }
        }

        var end = Lifecycle(id, JobEventKind.Completed, JobStatus.Completed);
        broker.Publish(end);
        published.Add(end.Sequence);

        foreach (var subscription in subscriptions.Concat(late))
        {
            var seen = new List<JobEvent>();
            await foreach (var e in subscription.ReadAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token))
            {
                seen.Add(e);
            }

            // The first event is the state the subscriber was given; after it, every lifecycle event
            // published later, once each, in order, up to the terminal one.
            Assert.Equal(JobEventKind.State, seen[0].Kind);
            var lifecycle = seen.Skip(1).Where(e => !e.IsDroppable).Select(e => e.Sequence).ToList();
            Assert.Equal(published.Where(s => s > seen[0].Sequence), lifecycle);
            Assert.Equal(JobEventKind.Completed, seen[^1].Kind);
            Assert.Equal(seen.Select(e => e.Sequence).Order(), seen.Select(e => e.Sequence));
        }
    }

    [Fact]
    public void Publish_FullBuffer_DropsOnlyProgressNeverLifecycle()
    {
        var broker = NewBroker(capacity: 1);
        var id = JobId.New();
        using var subscription = broker.Subscribe(id);

        broker.Publish(Lifecycle(id, JobEventKind.Started, JobStatus.Running));
        for (var stage = 0; stage < 50; stage++)
        {
            broker.Publish(Progress(id, stage));
            broker.Publish(new JobEvent(id, JobEventKind.StageChanged, JobStatus.Running, T0) { Name = $"stage {stage}" });
        }

        var seen = Drain(subscription);
        Assert.Equal(50, seen.Count(e => e.Kind == JobEventKind.StageChanged));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"stage {i}"), seen.Where(e => e.Kind == JobEventKind.StageChanged).Select(e => e.Name));
        Assert.Single(seen, e => e.Kind == JobEventKind.Progress);
        Assert.Equal(49, subscription.DroppedCount);
    }

    [Fact]
    public void Subscribe_Late_FirstGetsTheCurrentState()
    {
        var broker = NewBroker();
        var id = JobId.New();
        broker.Publish(Lifecycle(id, JobEventKind.Started, JobStatus.Running) with { JobType = "fit", Attempt = 2 });
        broker.Publish(Progress(id, 40));

        using var late = broker.Subscribe(id);
        broker.Publish(Progress(id, 41));

        var seen = Drain(late);
        Assert.Equal(JobEventKind.State, seen[0].Kind);
        Assert.Equal(JobStatus.Running, seen[0].Status);
        Assert.Equal(40, seen[0].Progress!.Current);
        Assert.Equal("fit", seen[0].JobType);
        Assert.Equal(2, seen[0].Attempt);
        Assert.Equal(41, seen[1].Progress!.Current);
    }

    [Fact]
    public async Task Subscribe_FinishedJob_GetsTheTerminalEventAndTheStreamEnds()
    {
        var broker = NewBroker();
        var id = JobId.New();
        broker.Publish(Lifecycle(id, JobEventKind.Started, JobStatus.Running));
        broker.Publish(Lifecycle(id, JobEventKind.Failed, JobStatus.Failed) with { Error = new JobError("E", "bad") });

        using var subscription = broker.Subscribe(id);
        var seen = new List<JobEvent>();
        await foreach (var e in subscription.ReadAllAsync())
        {
            seen.Add(e);
        }

        var only = Assert.Single(seen);
        Assert.Equal(JobEventKind.Failed, only.Kind);
        Assert.Equal("bad", only.Error!.Message);
    }

    [Fact]
    public void Publish_AfterTheTerminalEvent_IsIgnored()
    {
        var broker = NewBroker();
        var id = JobId.New();
        using var all = broker.SubscribeAll();
        broker.Publish(Lifecycle(id, JobEventKind.TimedOut, JobStatus.TimedOut));

        broker.Publish(Progress(id, 99));

        Assert.Equal([JobEventKind.TimedOut], Drain(all).Select(e => e.Kind));
        Assert.True(broker.TryGetState(id, out var state));
        Assert.Equal(JobStatus.TimedOut, state.Lifecycle.Status);
    }

    [Fact]
    public void SubscribeAll_SeesEveryJob_AndStopsAfterDispose()
    {
        var broker = NewBroker();
        var all = broker.SubscribeAll();
        var a = JobId.New();
        var b = JobId.New();

        broker.Publish(Lifecycle(a, JobEventKind.Submitted, JobStatus.Pending));
        broker.Publish(Lifecycle(b, JobEventKind.Submitted, JobStatus.Pending));
        all.Dispose();
        broker.Publish(Lifecycle(a, JobEventKind.Started, JobStatus.Running));

        Assert.Equal([a, b], Drain(all).Select(e => e.JobId));
        Assert.True(all.Reader.Completion.IsCompleted);
    }

    [Fact]
    public async Task Dispose_WhileAReaderWaits_EndsTheStream()
    {
        var broker = NewBroker();
        var subscription = broker.Subscribe(JobId.New());
        var reading = subscription.Reader.WaitToReadAsync().AsTask();

        subscription.Dispose();

        Assert.False(await reading);
    }
}
