using System.Collections.Specialized;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Hangfire;
using Hangfire.InMemory;
using JobRuntime.Management;
using JobRuntime.Progress;
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
    private IJobManager? _jobs;
    private JobEventSubscription? _events;
    private string? _database;
    private BackgroundJobServer? _hangfireServer;
    private BackgroundJobClient? _hangfireClient;
    private InMemoryStorage? _hangfireStorage;
    private IScheduler? _quartz;

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
        _events?.Dispose();
        _events = null;
        _services?.Dispose();
        _services = null;
        _hangfireServer?.Dispose();
        _hangfireServer = null;
        _quartz?.Shutdown(waitForJobsToComplete: false).GetAwaiter().GetResult();
        _quartz = null;
        if (_database is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(Path.GetDirectoryName(_database)!, Path.GetFileName(_database) + "*"))
            {
                File.Delete(file);
            }

            _database = null;
        }
    }

    /// <summary>The practical limit: a channel drained by one reader per core, running a no-op delegate per item.</summary>
    [Benchmark(Baseline = true)]
    public async Task RawChannel()
    {
        var channel = Channel.CreateUnbounded<Func<int, int>>(new UnboundedChannelOptions { SingleWriter = true });
        var completion = new Completion(Jobs);
        var readers = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Task.Run(async () =>
        {
            await foreach (var work in channel.Reader.ReadAllAsync())
            {
                work(0);
                completion.One();
            }
        })).ToArray();
        Func<int, int> noop = static i => i;
        for (var i = 0; i < Jobs; i++)
        {
            channel.Writer.TryWrite(noop);
        }

        await completion.Task;
        channel.Writer.Complete();
        await Task.WhenAll(readers);
    }

    [Benchmark]
    public async Task JobRuntimeInMemory() => await RunJobRuntime();

    [Benchmark]
    public async Task JobRuntimeSqlite() => await RunJobRuntime();

    [Benchmark]
    public async Task HangfireInMemory()
    {
        var completion = Completion.Current = new Completion(Jobs);
        for (var i = 0; i < Jobs; i++)
        {
            var index = i;
            _hangfireClient!.Enqueue(() => HangfireNoop.Run(index));
        }

        await completion.Task;
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
            _database = Path.Combine(Path.GetTempPath(), $"jobruntime-bench-{Guid.NewGuid():N}.db");
            builder.UseSqlite($"Data Source={_database}");
        }

        _services = builder.Services.BuildServiceProvider();
        _jobs = _services.GetRequiredService<IJobManager>();

        // Warm the runtime (starts the dispatcher, creates the schema) outside the measurement.
        _jobs.WaitForCompletionAsync(_jobs.SubmitAsync(new NoopArgs(-1)).AsTask().GetAwaiter().GetResult()).GetAwaiter().GetResult();
        _events = _services.GetRequiredService<IProgressBroker>().SubscribeAll(bufferCapacity: 16);
    }

    private async Task RunJobRuntime()
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
}
