using JobRuntime.TestSupport;
using BenchmarkDotNet.Attributes;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Scenario 1 on PostgreSQL: end-to-end throughput of N no-op jobs (first submit → last
/// completion) in one process with 64 workers, JobRuntime.PostgreSql against Hangfire.PostgreSql,
/// each iteration on a fresh schema of a throw-away local cluster (fsync off). Its own class
/// because Hangfire.PostgreSql runs ~200 jobs/s here: the in-memory scenario's N would make one
/// iteration last minutes. Every JobRuntime job is durable before its submit returns; Hangfire's
/// enqueue commits each job as well. <c>--pg-burndown</c> measures the same pair with two worker
/// processes and a backlog.
/// </summary>
[MemoryDiagnoser]
public class PostgreSqlThroughputBenchmarks
{
    private const int Concurrency = 64;

    private ServiceProvider? _services;
    private NoopBurst? _burst;
    private BackgroundJobServer? _hangfireServer;
    private BackgroundJobClient? _hangfireClient;

    [ParamsSource(nameof(JobCounts))]
    public int Jobs { get; set; }

    public static IEnumerable<int> JobCounts => Sizes.PostgreSqlJobs;

    [IterationSetup(Targets = [nameof(JobRuntimePostgreSql)])]
    public void SetupJobRuntime()
    {
        var server = PostgresServer.GetAsync().GetAwaiter().GetResult();
        _services = new ServiceCollection()
            .AddJobRuntime(o => o.MaxConcurrency = Concurrency)
            .UsePostgreSql(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.Schema = "tp_" + Guid.NewGuid().ToString("N")[..8];
            })
            .AddHandler<NoopHandler>("noop")
            .Services.BuildServiceProvider();
        _burst = NoopBurst.StartAsync(_services).GetAwaiter().GetResult();
    }

    [IterationSetup(Targets = [nameof(HangfirePostgreSql)])]
    public void SetupHangfire()
    {
        var server = PostgresServer.GetAsync().GetAwaiter().GetResult();
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = "hf_" + Guid.NewGuid().ToString("N")[..8],

            // The default polls the queue every 15 s; 100 ms, as in --pg-burndown.
            QueuePollInterval = TimeSpan.FromMilliseconds(100),
            PrepareSchemaIfNecessary = true,
        };
#pragma warning disable CS0618 // the connection-string constructor is the simplest that every 1.x version has
        var storage = new PostgreSqlStorage(server.ConnectionString, options);
#pragma warning restore CS0618
        _hangfireClient = new BackgroundJobClient(storage);
        _hangfireServer = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = Concurrency }, storage);

        // One job through the server outside the measurement, as for JobRuntime.
        HangfireNoop.Enqueue(_hangfireClient, 1).Task.GetAwaiter().GetResult();
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _burst?.Dispose();
        _burst = null;
        _services?.Dispose();
        _services = null;
        _hangfireServer?.Dispose();
        _hangfireServer = null;
    }

    [Benchmark(Baseline = true)]
    public Task JobRuntimePostgreSql() => _burst!.RunAsync(Jobs);

    [Benchmark]
    public Task HangfirePostgreSql() => HangfireNoop.Enqueue(_hangfireClient!, Jobs).Task;
}
