using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using JobRuntime.Diagnostics;
using JobRuntime.ThreadDumps;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace JobRuntime.Benchmarks;

/// <summary>Hangs two async calls deep until cancelled, so that every capture has a job and an async chain to read.</summary>
public sealed class ParkedHandler(Signals signals) : IJobHandler<int, int>
{
    public async ValueTask<int> ExecuteAsync(int args, JobContext context) => await OuterAsync(args, context.CancellationToken).ConfigureAwait(false);

    private async Task<int> OuterAsync(int args, CancellationToken cancellationToken)
    {
        await InnerAsync(cancellationToken).ConfigureAwait(false);
        return args;
    }

    private async Task InnerAsync(CancellationToken cancellationToken)
    {
        signals.Started.TrySetResult();
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// Scenario 6: thread-dump capture time per provider, one job parked at an await. Core (the
/// runtime's registry and async chains, through <see cref="IThreadDumpService"/>) is the baseline;
/// EventPipe and the heap dump are JobRuntime.Diagnostics' providers called directly, so that the
/// service's rate limit does not hide their cost.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Percentiles))]
public class ThreadDumpBenchmarks
{
    private ServiceProvider? _services;
    private IThreadDumpService? _dumps;
    private EventPipeThreadDumpProvider? _eventPipe;
    private HeapDumpThreadDumpProvider? _heapDump;
    private ThreadDumpRequest? _request;

    [GlobalSetup]
    public void Setup()
    {
        var signals = new Signals();
        var services = new ServiceCollection().AddSingleton(signals);
        services.AddJobRuntime(o => o.ThreadDumpMinimumInterval = TimeSpan.Zero).AddHandler<ParkedHandler>("parked");
        _services = services.BuildServiceProvider();
        var jobs = _services.GetRequiredService<IJobManager>();
        var id = jobs.SubmitAsync("parked", 1).AsTask().GetAwaiter().GetResult();
        signals.Started.Task.GetAwaiter().GetResult();
        _dumps = _services.GetRequiredService<IThreadDumpService>();
        var options = Options.Create(new ThreadDumpDiagnosticsOptions());
        _eventPipe = new EventPipeThreadDumpProvider(options);
        _heapDump = new HeapDumpThreadDumpProvider(options);
        _request = new ThreadDumpRequest(id, "benchmark", []);
    }

    [GlobalCleanup]
    public void Cleanup() => _services?.Dispose();

    [Benchmark(Baseline = true, Description = "core (registry + async chains)")]
    public async Task<int> Core() => (await _dumps!.CaptureAsync(_request!.JobId, "benchmark").ConfigureAwait(false)).Threads.Count;

    [Benchmark(Description = "eventpipe (all threads)")]
    public async Task<int> EventPipe() => (await _eventPipe!.CaptureAsync(_request!, CancellationToken.None).ConfigureAwait(false)).Threads.Count;

    [Benchmark(Description = "heapdump + ClrMD (deep)")]
    public async Task<int> HeapDump() => (await _heapDump!.CaptureAsync(_request!, CancellationToken.None).ConfigureAwait(false)).Threads.Count;

    private sealed class Percentiles : ManualConfig
    {
        public Percentiles() => AddColumn(BenchmarkDotNet.Columns.StatisticColumn.P50, P99Column.Instance, BenchmarkDotNet.Columns.StatisticColumn.Max);
    }
}
