using JobRuntime.Storage;
using Xunit;

namespace JobRuntime.Testing;

/// <summary>The contract, continued: the queue counts of <see cref="IJobStoreStatistics"/>.</summary>
public abstract partial class JobStoreConformanceTests
{
    /// <summary>
    /// <c>GetQueueStatisticsAsync</c>: ready jobs counted per queue with the oldest one's run time,
    /// running jobs counted, delayed jobs and jobs waiting for a parent not ready. A store that does
    /// not implement <see cref="IJobStoreStatistics"/> fails it: override it to say why it leaves the
    /// capability out (the runtime's queue gauges and health check then go without queue numbers).
    /// </summary>
    [Fact]
    public virtual async Task GetQueueStatisticsAsync_CountsReadyAndRunningJobsAndTheOldestReadyRunTime()
    {
        var statistics = Assert.IsAssignableFrom<IJobStoreStatistics>(Store);
        var first = await Insert(NewJob(queue: "q1"));
        Time.Advance(TimeSpan.FromSeconds(5));
        await Insert(NewJob(queue: "q1"));
        await Insert(NewJob(queue: "q1", delay: TimeSpan.FromHours(1)));
        await Insert(NewJob(queue: "q1", dependsOn: [first.Id]));
        await Insert(NewJob(queue: "q2", priority: 9));
        var running = await ClaimOne();
        Assert.Equal("q2", running.Job.Queue);
        await Insert(NewJob(queue: "q3"));
        Time.Advance(TimeSpan.FromSeconds(30));

        var queues = (await statistics.GetQueueStatisticsAsync()).ToDictionary(q => q.Queue);

        Assert.Equal(new JobQueueStatistics("q1", 2, 0, first.ScheduledAt), queues["q1"]);
        Assert.Equal(new JobQueueStatistics("q2", 0, 1, null), queues["q2"]);
        Assert.Equal(1, queues["q3"].Ready);
        Assert.Equal(3, queues.Count);

        // Finished jobs leave the counts.
        await Store.CompleteAsync(running.Lease, JobCompletion.Completed("1"));
        Assert.DoesNotContain(await statistics.GetQueueStatisticsAsync(), q => q.Queue == "q2");
    }
}
