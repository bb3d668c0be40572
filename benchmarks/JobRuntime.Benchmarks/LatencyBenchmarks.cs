using JobRuntime.TestSupport;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>Signals the benchmark when a job starts, and when a running job sees its token trip.</summary>
public sealed class Signals
{
    public TaskCompletionSource Started { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Cancelled { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The arguments of a signalling job.</summary>
/// <param name="WaitForCancel">Whether the job waits until it is cancelled.</param>
public sealed record SignalArgs(bool WaitForCancel);

/// <summary>Signals its start; optionally waits for its token and signals when it trips.</summary>
public sealed class SignalHandler(Signals signals) : IJobHandler<SignalArgs, int>
{
    public async ValueTask<int> ExecuteAsync(SignalArgs args, JobContext context)
    {
        signals.Started.TrySetResult();
        if (args.WaitForCancel)
        {
            // The callback may never run if the delay's continuation ends the handler (and disposes
            // the registration) first, inside the same Cancel call: signal from both places.
            using var registration = context.CancellationToken.Register(() => signals.Cancelled.TrySetResult());
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken).ConfigureAwait(false);
            }
            finally
            {
                signals.Cancelled.TrySetResult();
            }
        }

        return 0;
    }
}

/// <summary>
/// Scenario 2: submit → start latency at low load (one job at a time), per store, against a bare
/// thread-pool hop. Scenario 4: cancellation latency, CancelAsync called → the running handler's
/// token callback runs: in process for the in-memory and SQLite stores, from another node (NOTIFY
/// through the server) for PostgreSQL.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PercentileConfig))]
public class LatencyBenchmarks
{
    private ServiceProvider? _services;
    private IJobManager? _jobs;
    private Signals? _signals;
    private JobId _running;
    private string? _database;

    private ServiceProvider? _otherNode;
    private IJobManager? _canceller;

    [Params("memory", "sqlite", "postgresql")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void Setup()
    {
        var builder = new ServiceCollection()
            .AddSingleton<Signals>()
            .AddJobRuntime(o => o.MaxConcurrency = 4)
            .AddHandler<SignalHandler>("signal");
        if (Store == "sqlite")
        {
            _database = Path.Combine(Path.GetTempPath(), $"jobruntime-latency-{Guid.NewGuid():N}.db");
            builder.UseSqlite($"Data Source={_database}");
        }

        string? schema = null;
        var server = Store == "postgresql" ? PostgresServer.GetAsync().GetAwaiter().GetResult() : null;
        if (server is not null)
        {
            schema = "latency_" + Guid.NewGuid().ToString("N")[..8];
            builder.UsePostgreSql(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.Schema = schema;
            });
        }

        _services = builder.Services.BuildServiceProvider();
        _jobs = _services.GetRequiredService<IJobManager>();
        _signals = _services.GetRequiredService<Signals>();
        _canceller = _jobs;
        if (server is not null)
        {
            // PostgreSQL: the cancel comes from another node on the same schema (its own connections
            // and listener; it serves another queue, so it never runs these jobs), as across machines.
            var other = new ServiceCollection().AddSingleton<Signals>()
                .AddJobRuntime(o => o.Queues.Add("other-node"))
                .UsePostgreSql(o =>
                {
                    o.ConnectionString = server.ConnectionString;
                    o.Schema = schema!;
                })
                .AddHandler<SignalHandler>("signal");
            _otherNode = other.Services.BuildServiceProvider();
            _canceller = _otherNode.GetRequiredService<IJobManager>();
        }

        SubmitToStart().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _otherNode?.Dispose();
        _services?.Dispose();
        if (_database is not null)
        {
            BenchDatabase.Delete(_database);
        }
    }

    /// <summary>The floor: handing work to the thread pool and hearing back.</summary>
    [Benchmark(Baseline = true)]
    public Task ThreadPoolHop() => HopAsync();

    /// <summary>Hands a work item to the thread pool and waits until it ran.</summary>
    internal static async Task HopAsync()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ThreadPool.UnsafeQueueUserWorkItem(static s => ((TaskCompletionSource)s!).TrySetResult(), started, preferLocal: false);
        await started.Task;
    }

    [Benchmark]
    public Task SubmitToStart() => SubmitToStartAsync(_jobs!, _signals!);

    /// <summary>Submits a signalling job and waits until its handler started.</summary>
    internal static async Task SubmitToStartAsync(IJobManager jobs, Signals signals)
    {
        signals.Started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await jobs.SubmitAsync(new SignalArgs(false));
        await signals.Started.Task;
    }

    [IterationSetup(Target = nameof(CancelToObserved))]
    public void StartJobToCancel()
    {
        _signals!.Started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _signals.Cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _running = _jobs!.SubmitAsync(new SignalArgs(true)).AsTask().GetAwaiter().GetResult();
        _signals.Started.Task.GetAwaiter().GetResult();
    }

    [Benchmark]
    public async Task CancelToObserved()
    {
        await _canceller!.CancelAsync(_running);
        await _signals!.Cancelled.Task;
    }

    private sealed class PercentileConfig : ManualConfig
    {
        public PercentileConfig() => AddColumn(StatisticColumn.P50, StatisticColumn.P95, P99Column.Instance, StatisticColumn.Max);
    }
}
