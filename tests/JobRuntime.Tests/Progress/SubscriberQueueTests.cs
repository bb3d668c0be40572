
namespace JobRuntime.Tests.Progress;

public sealed class SubscriberQueueTests
{
    private static readonly JobId Id = JobId.New();
    private static readonly DateTimeOffset At = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static JobEvent Progress(int i) => new(Id, JobEventKind.Progress, JobStatus.Running, At) { Progress = new JobProgress(i, 1_000_000) };

    private static JobEvent Custom(string name) => new(Id, JobEventKind.Custom, JobStatus.Running, At) { Name = name };

    private static JobEvent Lifecycle(JobEventKind kind) => new(Id, kind, kind == JobEventKind.Completed ? JobStatus.Completed : JobStatus.Running, At);

    private static List<JobEvent> Drain(SubscriberQueue queue)
    {
        var read = new List<JobEvent>();
        while (queue.TryRead(out var e))
        {
            read.Add(e);
        }

        return read;
    }

    [Fact]
    public void UnreadLifecycleEventBeforeAFloodOfProgress_MemoryStaysBounded_AndTheNewestProgressSurvivesInOrder()
    {
        var queue = new SubscriberQueue(capacity: 4);
        queue.Enqueue(Lifecycle(JobEventKind.Started));
        for (int i = 0; i < 100_000; i++)
        {
            queue.Enqueue(Progress(i));
        }

        Assert.Equal(5, queue.Count);
        Assert.Equal(99_996, queue.DroppedCount);
        Assert.True(queue.RingLength <= 16, $"the ring grew to {queue.RingLength} slots for 5 buffered events");
        var read = Drain(queue);
        Assert.Equal(JobEventKind.Started, read[0].Kind);
        Assert.Equal([99_996L, 99_997L, 99_998L, 99_999L], read.Skip(1).Select(e => e.Progress!.Current));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void ManyLifecycleEvents_AreNeverDropped_TheRingGrowsAndKeepsTheirOrder()
    {
        var queue = new SubscriberQueue(capacity: 2);
        var sent = new List<JobEvent>();
        for (int i = 0; i < 1000; i++)
        {
            var e = i % 3 == 0 ? Custom($"c{i}") : new JobEvent(Id, JobEventKind.Warning, JobStatus.Running, At) { Name = $"w{i}" };
            sent.Add(e);
            queue.Enqueue(e);
        }

        var read = Drain(queue);
        var lifecycle = sent.Where(e => !e.IsDroppable).ToList();
        var keptCustom = sent.Where(e => e.IsDroppable).TakeLast(2).ToList();
        Assert.Equal(lifecycle.Count + 2, read.Count);
        Assert.Equal(sent.Where(e => !e.IsDroppable || keptCustom.Contains(e)), read);
    }

    [Fact]
    public void InterleavedReadsAndWrites_AcrossManyWrapArounds_KeepFifoOrder()
    {
        var queue = new SubscriberQueue(capacity: 10_000);
        var next = 0;
        var expected = 0;
        for (int round = 0; round < 500; round++)
        {
            for (int i = 0; i < 7; i++)
            {
                queue.Enqueue(Progress(next++));
            }

            for (int i = 0; i < 5 && queue.TryRead(out var e); i++)
            {
                Assert.Equal(expected++, e.Progress!.Current);
            }
        }

        Assert.True(queue.TryPeek(out var head));
        Assert.Equal(expected, head.Progress!.Current);
        foreach (var e in Drain(queue))
        {
            Assert.Equal(expected++, e.Progress!.Current);
        }

        Assert.Equal(next, expected);
        Assert.Equal(0, queue.DroppedCount);
    }
}
