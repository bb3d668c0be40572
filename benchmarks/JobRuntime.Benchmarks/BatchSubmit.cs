using System.Diagnostics;
using System.Globalization;
using JobRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Submit throughput of <see cref="IJobManager.SubmitBatchAsync"/> from one caller, on SQLite (a file, synchronous
/// NORMAL as configured by default) and PostgreSQL (a throw-away cluster, fsync off), beside an awaited loop of
/// single submits. The jobs are delayed a day, so nothing runs: the submit is all that is timed.
/// Usage: --batch-submit [--store sqlite|postgres|all] [--jobs 100000] [--batch 10000] [--runs 3] [--singles 2000]
/// </summary>
internal static class BatchSubmit
{
    public static async Task<int> RunAsync(string[] args)
    {
        var store = SteadyLoop.Value(args, "--store") ?? "all";
        var jobs = int.Parse(SteadyLoop.Value(args, "--jobs") ?? "100000", CultureInfo.InvariantCulture);
        var size = int.Parse(SteadyLoop.Value(args, "--batch") ?? "10000", CultureInfo.InvariantCulture);
        var runs = int.Parse(SteadyLoop.Value(args, "--runs") ?? "3", CultureInfo.InvariantCulture);
        var singles = int.Parse(SteadyLoop.Value(args, "--singles") ?? "2000", CultureInfo.InvariantCulture);
        if (jobs < 1 || size is < 1 or > JobBatch.MaxJobs || runs < 1 || singles < 0)
        {
            throw new ArgumentException("--jobs, --batch (at most 100,000) and --runs must be positive; --singles at least 0.");
        }

        Console.WriteLine($"Batch submit on {Environment.ProcessorCount} cores: {jobs:N0} jobs in batches of {size:N0} from one caller, {runs} runs");
        if (store is "sqlite" or "all")
        {
            await MeasureAsync("SQLite", jobs, size, runs, singles, async () =>
            {
                var path = BenchDatabase.NewPath();
                return (services => services.AddJobRuntime().UseSqlite($"Data Source={path}").AddHandler<NoopHandler>("noop"), () => BenchDatabase.Delete(path));
            });
        }

        if (store is "postgres" or "all")
        {
            var server = await PostgresServer.GetAsync();
            await MeasureAsync("PostgreSQL", jobs, size, runs, singles, () => Task.FromResult<(Action<IServiceCollection>, Action)>((
                services => services.AddJobRuntime().UsePostgreSql(o =>
                {
                    o.ConnectionString = server.ConnectionString;
                    o.Schema = PostgresServer.NewSchema();
                }).AddHandler<NoopHandler>("noop"),
                () => { })));
        }

        return 0;
    }

    private static async Task MeasureAsync(string name, int jobs, int size, int runs, int singles, Func<Task<(Action<IServiceCollection> Configure, Action Cleanup)>> setup)
    {
        var later = new JobSubmitOptions { Delay = TimeSpan.FromDays(1) };
        var rates = new List<double>();
        for (var run = 0; run <= runs; run++)
        {
            var (configure, cleanup) = await setup();
            try
            {
                var services = new ServiceCollection();
                configure(services);
                await using var provider = services.BuildServiceProvider();
                var manager = provider.GetRequiredService<IJobManager>();

                // Run 0 warms up (JIT, schema, connections) and is not counted.
                var count = run == 0 ? Math.Min(jobs, size) : jobs;
                var clock = Stopwatch.StartNew();
                for (var done = 0; done < count; done += size)
                {
                    var batch = new JobBatch();
                    for (var i = 0; i < Math.Min(size, count - done); i++)
                    {
                        batch.Add(new NoopArgs(i), later);
                    }

                    await manager.SubmitBatchAsync(batch);
                }

                clock.Stop();
                if (run > 0)
                {
                    rates.Add(count / clock.Elapsed.TotalSeconds);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} run {run}: {count:N0} jobs in {clock.Elapsed.TotalSeconds:0.00} s = {rates[^1]:N0} jobs/s"));
                }

                if (run == runs && singles > 0)
                {
                    var one = Stopwatch.StartNew();
                    for (var i = 0; i < singles; i++)
                    {
                        await manager.SubmitAsync(new NoopArgs(i), later);
                    }

                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: an awaited loop of {singles:N0} single submits: {singles / one.Elapsed.TotalSeconds:N0} jobs/s"));
                }
            }
            finally
            {
                cleanup();
            }
        }

        rates.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: median {rates[rates.Count / 2]:N0} jobs/s (range {rates[0]:N0}–{rates[^1]:N0})"));
    }
}
