using System.Collections.Specialized;
using BenchmarkDotNet.Attributes;
using Hangfire;
using Hangfire.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Scenario 1: end-to-end throughput of N no-op jobs, from the first submit until the last job
/// finished. Results are per job (OperationsPerInvoke = N). Each iteration starts from a fresh
/// runtime (and, for SQLite, a fresh file); every JobRuntime SQLite job is durable before its
/// submit returns.
/// </summary>
[MemoryDiagnoser]
public class ThroughputBenchmarks
{
    private const int Concurrency = 64;

    private ServiceProvider? _services;
    private NoopBurst? _burst;
    private string? _database;
    private BackgroundJobServer? _hangfireServer;
    private BackgroundJobClient? _hangfireClient;
    private InMemoryStorage? _hangfireStorage;
    private IScheduler? _quartz;
    private ServiceProvider? _coravelServices;
    private Coravel.Queuing.Queue? _coravel;

    [ParamsSource(nameof(JobCounts))]
    public int Jobs { get; set; }

    public static IEnumerable<int> JobCounts => Sizes.Jobs;

    [IterationSetup(Targets = [nameof(JobRuntimeInMemory)])]
    public void SetupInMemory() => StartJobRuntime(sqlite: false);

    [IterationSetup(Targets = [nameof(JobRuntimeSqlite)])]
    public void SetupSqlite() => StartJobRuntime(sqlite: true);

    [IterationSetup(Targets = [nameof(HangfireInMemory)])]
    public void SetupHangfire()
    {
        _hangfireStorage = new InMemoryStorage();
        _hangfireServer = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = Concurrency }, _hangfireStorage);
        _hangfireClient = new BackgroundJobClient(_hangfireStorage);
    }

    [IterationSetup(Targets = [nameof(QuartzRam)])]
    public void SetupQuartz()
    {
        var properties = new NameValueCollection
        {
            ["quartz.scheduler.instanceName"] = $"bench-{Guid.NewGuid():N}",
            ["quartz.threadPool.maxConcurrency"] = Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["quartz.jobStore.type"] = "Quartz.Simpl.RAMJobStore, Quartz",
        };
        _quartz = QuartzSchedulerBuilder.Create().UseProperties(properties).BuildScheduler().GetAwaiter().GetResult();
        _quartz.Start().GetAwaiter().GetResult();
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
        _quartz?.Shutdown(waitForJobsToComplete: false).GetAwaiter().GetResult();
        _quartz = null;
        _coravelServices?.Dispose();
        _coravelServices = null;
        _coravel = null;
        if (_database is not null)
        {
            BenchDatabase.Delete(_database);

            _database = null;
        }
    }

    /// <summary>The practical limit: a channel drained by one reader per core, running a no-op delegate per item.</summary>
    [Benchmark(Baseline = true)]
    public Task RawChannel() => Peers.RawChannelAsync(Jobs);

    /// <summary>TPL Dataflow's <c>ActionBlock</c>, 64 at a time.</summary>
    [Benchmark]
    public Task ActionBlock() => Peers.ActionBlockAsync(Jobs);

    [IterationSetup(Targets = [nameof(CoravelQueue)])]
    public void SetupCoravel() => (_coravelServices, _coravel) = Peers.StartCoravel();

    /// <summary>Coravel's in-memory queue: invocables with a payload, consumed directly.</summary>
    [Benchmark]
    public Task CoravelQueue() => Peers.CoravelAsync(_coravel!, Jobs);

    [Benchmark]
    public Task JobRuntimeInMemory() => _burst!.RunAsync(Jobs);

    [Benchmark]
    public Task JobRuntimeSqlite() => _burst!.RunAsync(Jobs);

    [Benchmark]
    public async Task HangfireInMemory()
    {
        await HangfireNoop.Enqueue(_hangfireClient!, Jobs).Task;
    }

    [Benchmark]
    public async Task QuartzRam()
    {
        var completion = Completion.Current = new Completion(Jobs);
        for (var i = 0; i < Jobs; i++)
        {
            var job = JobBuilder.Create<QuartzNoop>().WithIdentity($"job-{i}").Build();
            var trigger = TriggerBuilder.Create().WithIdentity($"trigger-{i}").StartNow().Build();
            await _quartz!.ScheduleJob(job, trigger);
        }

        await completion.Task;
    }

    private void StartJobRuntime(bool sqlite)
    {
        var builder = new ServiceCollection()
            .AddJobRuntime(o => o.MaxConcurrency = Concurrency)
            .AddHandler<NoopHandler>("noop");
        if (sqlite)
        {
            _database = BenchDatabase.NewPath();
            builder.UseSqlite($"Data Source={_database}");
        }

        _services = builder.Services.BuildServiceProvider();
        _burst = NoopBurst.StartAsync(_services).GetAwaiter().GetResult();
    }
}
