using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace JobRuntime.Tests.Hosting;

public sealed class JobRuntimeHostedServiceTests
{
    private static IHost BuildHost(Action<JobRuntimeOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<Gates>();
        builder.Services.AddJobRuntime(o =>
            {
                o.MaxConcurrency = 2;
                configure?.Invoke(o);
            })
            .AddHandler<GateHandler>("gate")
            .AddHandler<EchoHandler>("echo");
        return builder.Build();
    }

    [Fact]
    public async Task StartAsync_InvalidOptions_FailsListingEveryError()
    {
        using var host = BuildHost(o =>
        {
            o.MaxConcurrency = 0;
            o.PollInterval = TimeSpan.Zero;
            o.RetryJitter = 2;
            o.QueueConcurrency["q"] = 0;
        });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(ex.Failures, f => f.Contains("MaxConcurrency", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("PollInterval", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("RetryJitter", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("QueueConcurrency[\"q\"]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_WaitsForRunningJobsToFinish()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var jobs = host.Services.GetRequiredService<IJobManager>();
        var gates = host.Services.GetRequiredService<Gates>();
        var id = await jobs.SubmitAsync(new GateArgs("graceful"));
        await gates.For("graceful").Started.Task;

        var stopping = host.StopAsync();
        Assert.False(stopping.IsCompleted);
        gates.For("graceful").Open.SetResult();
        await stopping;

        var job = (await jobs.GetAsync(id))!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal("\"graceful\"", job.Result);
    }

    [Fact]
    public async Task StopAsync_ShutdownTimeoutReached_CancelsAndHandsTheJobBackAsPending()
    {
        using var host = BuildHost(o => o.ShutdownTimeout = TimeSpan.Zero);
        await host.StartAsync();
        var jobs = host.Services.GetRequiredService<IJobManager>();
        var gates = host.Services.GetRequiredService<Gates>();
        var id = await jobs.SubmitAsync(new GateArgs("interrupted"));
        await gates.For("interrupted").Started.Task;

        await host.StopAsync();

        var job = (await jobs.GetAsync(id))!;
        Assert.Equal(JobStatus.Pending, job.Status);
        Assert.Equal(0, job.Attempt);
        Assert.Null(job.Owner);
    }

    [Fact]
    public async Task StartAsync_RecoversJobsWhoseWorkerDied()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddJobRuntime().AddHandler<EchoHandler>("echo");
        using var host = builder.Build();
        var store = host.Services.GetRequiredService<JobRuntime.Storage.IJobStore>();
        var now = time.GetUtcNow();
        var orphan = new JobSnapshot { Id = JobId.New(now), Type = "echo", Queue = "default", Payload = """{"value":4}""", CreatedAt = now, ScheduledAt = now, MaxAttempts = 2 };
        await store.InsertAsync(orphan);
        await store.ClaimAsync(new JobRuntime.Storage.ClaimRequest("a-worker-that-died", 1, TimeSpan.FromSeconds(30)));
        time.Advance(TimeSpan.FromMinutes(1));
        using var events = host.Services.GetRequiredService<JobRuntime.IProgressBroker>().Subscribe(orphan.Id);

        await host.StartAsync();
        var jobs = host.Services.GetRequiredService<IJobManager>();
        await foreach (var e in events.ReadAllAsync())
        {
            if (e.Kind == JobRuntime.JobEventKind.Retrying)
            {
                Assert.Contains("a-worker-that-died", e.Error!.Message, StringComparison.Ordinal);
                break;
            }
        }

        // Recovery scheduled the retry after a back-off on the clock.
        Assert.Equal(JobWaitReason.RetryBackoff, (await jobs.GetAsync(orphan.Id))!.WaitReason);
        time.Advance(TimeSpan.FromMinutes(1));
        TestRuntime.Nudge(host.Services);
        var result = await jobs.WaitForResultAsync<EchoResult>(orphan.Id);

        Assert.Equal(new EchoResult(8, 2), result);
        await host.StopAsync();
    }

    [Theory]
    [InlineData(10, 30, 2, 7)]     // the host's 10 s bound it: 10 - 2 s grace - 1 s hand-back
    [InlineData(60, 30, 5, 30)]    // the runtime's own wait fits
    [InlineData(2, 30, 5, 0)]      // nothing left to wait: cancel at once
    public void StopAsync_WaitsForRunningJobsNoLongerThanTheHostsShutdownTimeoutAllows(int hostSeconds, int shutdownSeconds, int graceSeconds, int expectedSeconds)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(hostSeconds));
        builder.Services.AddJobRuntime(o =>
            {
                o.ShutdownTimeout = TimeSpan.FromSeconds(shutdownSeconds);
                o.CancellationGracePeriod = TimeSpan.FromSeconds(graceSeconds);
            })
            .AddHandler<EchoHandler>("echo");
        using var host = builder.Build();

        var service = host.Services.GetServices<IHostedService>().OfType<JobRuntime.Hosting.JobRuntimeHostedService>().Single();

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), service.ShutdownWait);
    }

    [Fact]
    public async Task StopAsync_ShortHostShutdownTimeout_HandsTheRunningJobBack()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        builder.Services.AddSingleton<Gates>();
        builder.Services.AddJobRuntime(o => o.CancellationGracePeriod = TimeSpan.FromMilliseconds(500)).AddHandler<GateHandler>("gate");
        using var host = builder.Build();
        await host.StartAsync();
        var jobs = host.Services.GetRequiredService<IJobManager>();
        var id = await jobs.SubmitAsync(new GateArgs("shutdown"));
        await host.Services.GetRequiredService<Gates>().For("shutdown").Started.Task;

        await host.StopAsync();

        var job = (await host.Services.GetRequiredService<JobRuntime.Storage.IJobStore>().GetAsync(id))!;
        Assert.Equal(JobStatus.Pending, job.Status);
        Assert.Equal(0, job.Attempt);
    }

    [Fact]
    public async Task AddJobRuntime_CalledTwice_RegistersOneRuntimeWithBothConfigurations()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddJobRuntime(o => o.MaxConcurrency = 7).AddHandler<EchoHandler>("echo");
        services.AddJobRuntime(o => o.DefaultQueue = "second").AddHandler<EchoHandler>("echo");

        await using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IHostedService>());
        var options = provider.GetRequiredService<IOptions<JobRuntimeOptions>>().Value;
        Assert.Equal(7, options.MaxConcurrency);
        Assert.Equal("second", options.DefaultQueue);
        Assert.Same(provider.GetRequiredService<IJobManager>(), provider.GetRequiredService<IJobManager>());
        var id = await provider.GetRequiredService<IJobManager>().SubmitAsync(new EchoArgs(2));
        Assert.Equal(4, (await provider.GetRequiredService<IJobManager>().WaitForResultAsync<EchoResult>(id)).Doubled);
        Assert.Equal("second", (await provider.GetRequiredService<IJobManager>().GetAsync(id))!.Queue);
    }

    [Fact]
    public void AddHandler_SameNameForAnotherHandler_Throws()
    {
        var builder = new ServiceCollection().AddJobRuntime().AddHandler<EchoHandler>("job");

        var ex = Assert.Throws<ArgumentException>(() => builder.AddHandler<SumHandler>("job"));

        Assert.Contains(nameof(EchoHandler), ex.Message, StringComparison.Ordinal);
    }
}
