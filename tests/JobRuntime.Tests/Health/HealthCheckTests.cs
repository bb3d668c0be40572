using JobRuntime.Storage;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace JobRuntime.Tests.Health;

/// <summary><c>AddHealthChecks().AddJobRuntime()</c>: the store's answer, its queues, its signal channel and its leader.</summary>
public sealed class HealthCheckTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AReadyJobWaitingPastTheLimit_IsDegraded_NamingItsQueue_AndHealthyOnceItRan()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var runtime = TestRuntime.Create(
            o =>
            {
                o.MaxConcurrency = 1;
                o.LeaseDuration = TimeSpan.FromHours(1);
                o.RecoveryInterval = TimeSpan.FromHours(1);
            },
            time,
            b => b.Services.AddHealthChecks().AddJobRuntime(readyJobWaitLimit: TimeSpan.FromMinutes(1)));
        var health = runtime.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        // The only slot is taken: the next job is ready and waits.
        var blocker = await runtime.Manager.SubmitAsync(new GateArgs("health"), new JobSubmitOptions { Queue = "busy" });
        await runtime.Gates.For("health").Started.Task.WaitAsync(Guard);
        var waiting = await runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions { Queue = "busy" });
        var before = (await health.CheckHealthAsync()).Entries["jobruntime"];
        Assert.Equal(HealthStatus.Healthy, before.Status);
        Assert.Equal(1L, before.Data["queue.busy.ready"]);
        Assert.Equal(1L, before.Data["queue.busy.running"]);

        time.Advance(TimeSpan.FromMinutes(2));
        var degraded = (await health.CheckHealthAsync()).Entries["jobruntime"];
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains("queue 'busy'", degraded.Description, StringComparison.Ordinal);
        Assert.Equal(120.0, (double)degraded.Data["queue.busy.oldest_ready_wait_s"], 1);

        runtime.Gates.For("health").Open.TrySetResult();
        await runtime.Manager.WaitForCompletionAsync(blocker).WaitAsync(Guard);
        TestRuntime.Nudge(runtime.Services);
        await runtime.Manager.WaitForCompletionAsync(waiting).WaitAsync(Guard);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task AStoreThatFails_IsUnhealthyWithItsError()
    {
        var statistics = new Mock<IJobStoreStatistics>();
        statistics.Setup(s => s.GetQueueStatisticsAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new InvalidOperationException("disk on fire"));
        await using var runtime = TestRuntime.Create(builder: b =>
        {
            b.Services.AddSingleton(statistics.Object);
            b.Services.AddHealthChecks().AddJobRuntime();
        });

        var report = await runtime.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["jobruntime"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("disk on fire", entry.Description, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(entry.Exception);
    }

    [Fact]
    public async Task SignalsDownAndNoLeader_AreDegraded_SayingWhatThatCosts()
    {
        var signals = new Mock<IJobStoreSignals>();
        signals.SetupGet(s => s.IsConnected).Returns(false);
        var leadership = new Mock<IJobStoreLeadership>();
        leadership.Setup(l => l.GetLeaderAsync(It.IsAny<CancellationToken>())).ReturnsAsync((string?)null);
        await using var runtime = TestRuntime.Create(builder: b =>
        {
            b.Services.AddSingleton(signals.Object);
            b.Services.AddSingleton(leadership.Object);
            b.Services.AddHealthChecks().AddJobRuntime();
        });

        var entry = (await runtime.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["jobruntime"];

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("signal channel is down", entry.Description, StringComparison.Ordinal);
        Assert.Contains("no node holds the maintenance leadership", entry.Description, StringComparison.Ordinal);
        Assert.Equal(false, entry.Data["signals.connected"]);
    }
}
