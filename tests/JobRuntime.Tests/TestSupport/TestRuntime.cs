using JobRuntime.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Tests.TestSupport;

/// <summary>A runtime on a plain service provider with the test handlers registered.</summary>
public sealed class TestRuntime : IAsyncDisposable
{
    private TestRuntime(ServiceProvider services) => Services = services;

    public ServiceProvider Services { get; }

    public IJobManager Manager => Services.GetRequiredService<IJobManager>();

    public IProgressBroker Broker => Services.GetRequiredService<IProgressBroker>();

    public IJobStore Store => Services.GetRequiredService<IJobStore>();

    public Gates Gates => Services.GetRequiredService<Gates>();

    public ConcurrencyProbe Probe => Services.GetRequiredService<ConcurrencyProbe>();

    public static TestRuntime Create(Action<JobRuntimeOptions>? configure = null, TimeProvider? time = null, Action<JobRuntimeBuilder>? builder = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<Gates>();
        services.AddSingleton<ConcurrencyProbe>();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        var runtime = services.AddJobRuntime(o =>
            {
                o.MaxConcurrency = 4;
                o.RetryJitter = 0;
                configure?.Invoke(o);
            })
            .AddHandler<EchoHandler>("echo")
            .AddHandler<GateHandler>("gate")
            .AddHandler<FlakyHandler>("flaky")
            .AddHandler<ProbeHandler>("probe")
            .AddHandler<SumHandler>("sum")
            .AddHandler<ThreadHandler>("pool-thread")
            .AddHandler<CallbackThreadHandler>("callback-thread")
            .AddHandler<ThreadHandler>("dedicated-thread", h => h.DedicatedThread = true);
        builder?.Invoke(runtime);
        return new TestRuntime(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
    }

    public ValueTask DisposeAsync() => Services.DisposeAsync();

    /// <summary>
    /// Moves the fake clock and wakes the runtime's loops, so that a loop which armed its timer
    /// just after the jump still sees the new time (a timer armed after an advance would wait for
    /// the next one).
    /// </summary>
    public void Advance(Microsoft.Extensions.Time.Testing.FakeTimeProvider time, TimeSpan by)
    {
        time.Advance(by);
        Nudge(Services);
    }

    /// <summary>Wakes the claim loop, the lease keeper and the scheduler of the runtime in <paramref name="services"/>.</summary>
    public static void Nudge(IServiceProvider services)
    {
        var engine = services.GetRequiredService<JobRuntime.Engine.JobEngine>();
        engine.Wake();
        engine.RequestLeaseKeeping();
        engine.WakeScheduler();
    }
}
