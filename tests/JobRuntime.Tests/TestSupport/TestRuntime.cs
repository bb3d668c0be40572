using JobRuntime.Management;
using JobRuntime.Progress;
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
            .AddHandler<ThreadHandler>("dedicated-thread", h => h.DedicatedThread = true);
        builder?.Invoke(runtime);
        return new TestRuntime(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
    }

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}
