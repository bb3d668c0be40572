using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// A steady-state loop outside BenchmarkDotNet, for profiling and A/B runs: R rounds of N no-op
/// jobs through one fresh runtime per round (in memory or on a fresh SQLite file), each round's
/// jobs/s, the process's CPU time per job (both cores: steadier than jobs/s on a shared machine)
/// and bytes allocated per job. The later rounds show the warmed-up process. With <c>--peers</c>,
/// each round also runs the same N through Coravel's queue, TPL Dataflow's <c>ActionBlock</c> and a
/// raw channel in the same process, one after the other, and prints the ratios to JobRuntime.
/// <c>--alloc-profile</c> prints where the last round's bytes went, by type.
/// Usage: --steady [--store memory|sqlite] [--jobs 30000] [--rounds 4] [--peers] [--alloc-profile] [--max-finished N] [--reuse] | --steady --retained [--jobs N]
/// </summary>
internal static class SteadyLoop
{
    public static async Task<int> RunAsync(string[] args)
    {
        var store = Value(args, "--store") ?? "memory";
        var jobs = int.Parse(Value(args, "--jobs") ?? "30000", CultureInfo.InvariantCulture);
        var rounds = int.Parse(Value(args, "--rounds") ?? "4", CultureInfo.InvariantCulture);
        var peers = args.Contains("--peers");
        if (args.Contains("--retained"))
        {
            return await RetainedAsync(jobs);
        }

        if (store is not ("memory" or "sqlite") || jobs < 1 || rounds < 1)
        {
            Console.Error.WriteLine("usage: --steady [--store memory|sqlite] [--jobs N ≥ 1] [--rounds N ≥ 1] [--peers]");
            return 2;
        }

        // --reuse (in memory): one runtime and one Coravel queue for every round, as an application keeps them,
        // instead of new ones per round (whose tables then grow again during each burst).
        var reuse = args.Contains("--reuse") && store == "memory";
        var ratios = new List<(double JobRuntime, double Coravel)>();
        ServiceProvider? kept = null;
        NoopBurst? keptBurst = null;
        (ServiceProvider Services, Coravel.Queuing.Queue Queue)? keptCoravel = null;
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                var database = store == "sqlite" ? Path.Combine(Path.GetTempPath(), $"jobruntime-steady-{Guid.NewGuid():N}.db") : null;
                ServiceProvider? services = null;
                try
                {
                    NoopBurst burst;
                    if (reuse && keptBurst is not null)
                    {
                        burst = keptBurst;
                    }
                    else
                    {
                        services = Runtime(args, database);
                        burst = await NoopBurst.StartAsync(services);
                        if (reuse)
                        {
                            (kept, keptBurst, services) = (services, burst, null);
                        }
                    }

                    using var profile = args.Contains("--alloc-profile") && round == rounds ? new AllocationProfile() : null;
                    profile?.Start();
                    var result = await Measure($"{store} round {round}", jobs, () => burst.RunAsync(jobs));
                    profile?.Stop();
                    profile?.Print(jobs);
                    if (peers)
                    {
                        var (coravelServices, coravel) = keptCoravel ?? Peers.StartCoravel();
                        if (reuse)
                        {
                            keptCoravel = (coravelServices, coravel);
                        }

                        await Peers.CoravelAsync(coravel, 100);
                        var c = await Measure($"Coravel round {round}", jobs, () => Peers.CoravelAsync(coravel, jobs));
                        var a = await Measure($"ActionBlock round {round}", jobs, () => Peers.ActionBlockAsync(jobs));
                        var r = await Measure($"raw channel round {round}", jobs, () => Peers.RawChannelAsync(jobs));
                        Console.WriteLine(FormattableString.Invariant(
                            $"  JobRuntime ÷ Coravel: {result.JobsPerSecond / c.JobsPerSecond:0.00}× jobs/s, {result.CpuMicroseconds / c.CpuMicroseconds:0.00}× CPU, {result.Bytes / c.Bytes:0.00}× bytes; ÷ ActionBlock {result.JobsPerSecond / a.JobsPerSecond:0.000}× jobs/s; share of the raw channel {100 * result.JobsPerSecond / r.JobsPerSecond:0.0} %"));
                        if (round >= Math.Min(3, rounds))
                        {
                            ratios.Add((result.JobsPerSecond, c.JobsPerSecond));
                        }

                        if (!reuse)
                        {
                            await coravelServices.DisposeAsync();
                        }
                    }
                }
                finally
                {
                    if (services is not null)
                    {
                        await services.DisposeAsync();
                    }

                    if (database is not null)
                    {
                        BenchDatabase.Delete(database);
                    }
                }
            }
        }
        finally
        {
            if (kept is not null)
            {
                await kept.DisposeAsync();
            }

            if (keptCoravel is { } coravel)
            {
                await coravel.Services.DisposeAsync();
            }
        }

        if (ratios.Count > 0)
        {
            // Rounds vary on a shared machine (±30 % here): the median of the warmed-up rounds, each ratio from one round.
            static double Median(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);
            Console.WriteLine(FormattableString.Invariant(
                $"median of rounds {Math.Min(3, rounds)}–{rounds}: JobRuntime {Median(ratios.Select(x => x.JobRuntime)):N0} jobs/s, Coravel {Median(ratios.Select(x => x.Coravel)):N0} jobs/s, JobRuntime ÷ Coravel {Median(ratios.Select(x => x.JobRuntime / x.Coravel)):0.00}× (range {ratios.Min(x => x.JobRuntime / x.Coravel):0.00}–{ratios.Max(x => x.JobRuntime / x.Coravel):0.00}×)"));
        }

        return 0;
    }

    /// <summary>A runtime as a round uses it: in memory (optionally keeping N finished jobs) or on a new SQLite file.</summary>
    private static ServiceProvider Runtime(string[] args, string? database)
    {
        var concurrency = int.Parse(Value(args, "--concurrency") ?? "64", CultureInfo.InvariantCulture);
        var builder = new ServiceCollection().AddJobRuntime(o => o.MaxConcurrency = concurrency).AddHandler<NoopHandler>("noop");
        if (database is not null)
        {
            builder.UseSqlite($"Data Source={database}");
        }
        else if (Value(args, "--max-finished") is { } keep)
        {
            // A diagnostic: how much of the cost is the finished jobs the store keeps for reading.
            builder.UseInMemoryStore(int.Parse(keep, CultureInfo.InvariantCulture));
        }

        return builder.Services.BuildServiceProvider();
    }

    /// <summary>Runs one burst and prints its jobs/s, the process's CPU per job and the bytes allocated per job.</summary>
    private static async Task<(double JobsPerSecond, double CpuMicroseconds, double Bytes)> Measure(string name, int jobs, Func<Task> run)
    {
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var paused = GC.GetTotalPauseDuration();
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var clock = Stopwatch.StartNew();
        await run();
        clock.Stop();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        paused = GC.GetTotalPauseDuration() - paused;
        var result = (jobs / clock.Elapsed.TotalSeconds, cpu.TotalMicroseconds / jobs, allocated / (double)jobs);
        Console.WriteLine(FormattableString.Invariant($"{name}: {jobs:N0} jobs in {clock.Elapsed.TotalMilliseconds:N0} ms = {result.Item1:N0} jobs/s, {result.Item2:N1} µs CPU per job, {result.Item3:N0} B allocated per job; GC paused {paused.TotalMilliseconds:N0} ms ({GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} gen0/1/2)"));
        return result;
    }

    /// <summary>
    /// What a waiting job holds in memory: N no-op jobs submitted to an in-memory runtime, delayed so that none
    /// runs, and the live heap after a full collection, before and after, per job. The backlog of a burst is
    /// made of these, and every collection while it waits copies or scans them.
    /// </summary>
    private static async Task<int> RetainedAsync(int jobs)
    {
        await using var services = new ServiceCollection().AddJobRuntime(o => o.MaxConcurrency = 64).AddHandler<NoopHandler>("noop").Services.BuildServiceProvider();
        using var burst = await NoopBurst.StartAsync(services);
        var manager = services.GetRequiredService<IJobManager>();
        var later = new JobSubmitOptions { Delay = TimeSpan.FromDays(1) };
        await manager.SubmitAsync(new NoopArgs(-2), later);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < jobs; i++)
        {
            await manager.SubmitAsync(new NoopArgs(i), later);
        }

        clock.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(FormattableString.Invariant($"{jobs:N0} waiting jobs hold {(after - before) / (double)jobs:N0} B each (live heap after a full collection)"));
        Console.WriteLine(FormattableString.Invariant($"submitting them took {clock.Elapsed.TotalMilliseconds * 1000 / jobs:N2} µs each, {cpu.TotalMicroseconds / jobs:N2} µs of CPU (GC included)"));
        GC.KeepAlive(manager);
        return 0;
    }

    /// <summary>The value after <paramref name="name"/> on the command line, if any.</summary>
    internal static string? Value(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
