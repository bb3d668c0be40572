using System.Threading.Tasks.Dataflow;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Coravel.Invocable;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>A Coravel invocable that signals its start.</summary>
public sealed class CoravelSignal : IInvocable
{
    public static TaskCompletionSource? Started { get; set; }

    public Task Invoke()
    {
        Started!.TrySetResult();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Submit → handler started, one item at a time, in memory: JobRuntime's in-memory store beside
/// TPL Dataflow's <c>ActionBlock</c> (64 at a time) and Coravel's queue (consumed directly, as its
/// hosted service does on a tick, so its 1 s tick is not counted), against a bare thread-pool hop.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PercentileConfig))]
public class InMemoryLatencyBenchmarks
{
    private ServiceProvider? _services;
    private IJobManager? _jobs;
    private Signals? _signals;
    private ActionBlock<TaskCompletionSource>? _block;
    private ServiceProvider? _coravelServices;
    private Coravel.Queuing.Queue? _coravel;

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection()
            .AddSingleton<Signals>()
            .AddJobRuntime(o => o.MaxConcurrency = Peers.Concurrency)
            .AddHandler<SignalHandler>("signal")
            .Services.BuildServiceProvider();
        _jobs = _services.GetRequiredService<IJobManager>();
        _signals = _services.GetRequiredService<Signals>();
        _block = new ActionBlock<TaskCompletionSource>(started => started.TrySetResult(), new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Peers.Concurrency });
        var coravel = new ServiceCollection().AddLogging();
        Coravel.QueueServiceRegistration.AddQueue(coravel);
        coravel.AddTransient<CoravelSignal>();
        _coravelServices = coravel.BuildServiceProvider();
        _coravel = (Coravel.Queuing.Queue)_coravelServices.GetRequiredService<Coravel.Queuing.Interfaces.IQueue>();
        JobRuntimeSubmitToStart().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _block?.Complete();
        _coravelServices?.Dispose();
        _services?.Dispose();
    }

    /// <summary>The floor: handing work to the thread pool and hearing back.</summary>
    [Benchmark(Baseline = true)]
    public Task ThreadPoolHop() => LatencyBenchmarks.HopAsync();

    [Benchmark]
    public Task JobRuntimeSubmitToStart() => LatencyBenchmarks.SubmitToStartAsync(_jobs!, _signals!);

    [Benchmark]
    public async Task ActionBlockPostToStart()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _block!.Post(started);
        await started.Task;
    }

    [Benchmark]
    public async Task CoravelQueueToStart()
    {
        var started = CoravelSignal.Started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _coravel!.QueueInvocable<CoravelSignal>();
        await _coravel.ConsumeQueueAsync();
        await started.Task;
    }

    private sealed class PercentileConfig : ManualConfig
    {
        public PercentileConfig() => AddColumn(StatisticColumn.P50, StatisticColumn.P95, P99Column.Instance, StatisticColumn.Max);
    }
}
