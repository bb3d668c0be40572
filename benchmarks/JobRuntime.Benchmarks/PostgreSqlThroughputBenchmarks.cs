using BenchmarkDotNet.Attributes;
using Hangfire;
using Hangfire.PostgreSql;
using JobRuntime.Management;
using JobRuntime.Progress;
using JobRuntime.Testing;
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
    private IJobManager? _jobs;
    private JobEventSubscription? _events;
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
        _jobs = _services.GetRequiredService<IJobManager>();

        // Creates the schema and starts the dispatcher outside the measurement.
        _jobs.WaitForCompletionAsync(_jobs.SubmitAsync(new NoopArgs(-1)).AsTask().GetAwaiter().GetResult()).GetAwaiter().GetResult();
        _events = _services.GetRequiredService<IProgressBroker>().SubscribeAll(bufferCapacity: 16);
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
        var warmUp = Completion.Current = new Completion(1);
        _hangfireClient.Enqueue(() => HangfireNoop.Run(-1));
        warmUp.Task.GetAwaiter().GetResult();
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _events?.Dispose();
        _events = null;
        _services?.Dispose();
        _services = null;
        _hangfireServer?.Dispose();
        _hangfireServer = null;
    }

    [Benchmark(Baseline = true)]
    public async Task JobRuntimePostgreSql()
    {
        var completion = new Completion(Jobs);
        var counting = Task.Run(async () =>
        {
            await foreach (var e in _events!.ReadAllAsync())
            {
                if (e.IsTerminal)
                {
                    completion.One();
                    if (completion.Task.IsCompleted)
                    {
                        return;
                    }
                }
            }
        });
        var submits = new Task[Jobs];
        for (var i = 0; i < Jobs; i++)
        {
            submits[i] = _jobs!.SubmitAsync(new NoopArgs(i)).AsTask();
        }

        await Task.WhenAll(submits);
        await completion.Task;
        await counting;
    }

    [Benchmark]
    public async Task HangfirePostgreSql()
    {
        var completion = Completion.Current = new Completion(Jobs);
        for (var i = 0; i < Jobs; i++)
        {
            var index = i;
            _hangfireClient!.Enqueue(() => HangfireNoop.Run(index));
        }

        await completion.Task;
    }
}
