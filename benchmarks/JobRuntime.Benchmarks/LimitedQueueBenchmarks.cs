using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Scenario 1b: throughput of N no-op jobs on the SQLite store, in a free queue, beside a queue at
/// its concurrency limit (<c>QueueConcurrency["batch"] = 1</c>, the README's own example) that holds a
/// backlog of pending jobs which cannot run. The baseline is the same runtime without the backlog:
/// the ratio is what jobs a claim may not take cost the rest (it should be close to 1).
/// </summary>
[MemoryDiagnoser]
public class LimitedQueueBenchmarks
{
    private const int Concurrency = 64;

    private ServiceProvider? _services;
    private NoopBurst? _burst;
    private string? _database;

    [ParamsSource(nameof(JobCounts))]
    public int Jobs { get; set; }

    [ParamsSource(nameof(BacklogSizes))]
    public int Backlog { get; set; }

    public static IEnumerable<int> JobCounts => Sizes.Jobs;

    public static IEnumerable<int> BacklogSizes => Sizes.Backlogs;

    [IterationSetup(Targets = [nameof(FreeQueueAlone)])]
    public void SetupAlone() => Start(backlog: 0);

    [IterationSetup(Targets = [nameof(BesideSaturatedLimitedQueue)])]
    public void SetupBeside() => Start(Backlog);

    [IterationCleanup]
    public void Cleanup()
    {
        _burst?.Dispose();
        _burst = null;
        _services?.Dispose();
        _services = null;
        BenchDatabase.Delete(_database!);
    }

    [Benchmark(Baseline = true)]
    public Task FreeQueueAlone() => _burst!.RunAsync(Jobs);

    [Benchmark]
    public Task BesideSaturatedLimitedQueue() => _burst!.RunAsync(Jobs);

    private void Start(int backlog)
    {
        _database = BenchDatabase.NewPath();
        var builder = new ServiceCollection()
            .AddJobRuntime(o =>
            {
                o.MaxConcurrency = Concurrency;
                o.QueueConcurrency["batch"] = 1;
                o.ShutdownTimeout = TimeSpan.Zero;
            })
            .AddHandler<NoopHandler>("noop")
            .AddHandler<HoldHandler>("hold", h => h.Queue = "batch")
            .UseSqlite($"Data Source={_database}");
        _services = builder.Services.BuildServiceProvider();
        var jobs = _services.GetRequiredService<IJobManager>();
        if (backlog > 0)
        {
            // One batch job runs (and holds the queue's one slot until shutdown); the rest wait behind it.
            Task.WhenAll(Enumerable.Range(0, backlog).Select(i => jobs.SubmitAsync("hold", i).AsTask())).GetAwaiter().GetResult();
        }

        _burst = NoopBurst.StartAsync(_services).GetAwaiter().GetResult();
    }

    /// <summary>Holds its slot until the runtime stops.</summary>
    public sealed class HoldHandler : IJobHandler<int, int>
    {
        public async ValueTask<int> ExecuteAsync(int args, JobContext context)
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return args;
        }
    }
}
