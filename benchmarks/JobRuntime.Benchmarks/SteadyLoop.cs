using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// A steady-state loop outside BenchmarkDotNet, for profiling and A/B runs: R rounds of N no-op
/// jobs through one fresh runtime per round (in memory or on a fresh SQLite file), each round's
/// jobs/s, the process's CPU time per job (both cores: steadier than jobs/s on a shared machine)
/// and bytes allocated per job. The later rounds show the warmed-up process.
/// Usage: --steady [--store memory|sqlite] [--jobs 30000] [--rounds 4]
/// </summary>
internal static class SteadyLoop
{
    public static async Task<int> RunAsync(string[] args)
    {
        var store = Value(args, "--store") ?? "memory";
        var jobs = int.Parse(Value(args, "--jobs") ?? "30000", CultureInfo.InvariantCulture);
        var rounds = int.Parse(Value(args, "--rounds") ?? "4", CultureInfo.InvariantCulture);
        if (store is not ("memory" or "sqlite") || jobs < 1 || rounds < 1)
        {
            Console.Error.WriteLine("usage: --steady [--store memory|sqlite] [--jobs N ≥ 1] [--rounds N ≥ 1]");
            return 2;
        }

        for (var round = 1; round <= rounds; round++)
        {
            var builder = new ServiceCollection().AddJobRuntime(o => o.MaxConcurrency = 64).AddHandler<NoopHandler>("noop");
            var database = store == "sqlite" ? Path.Combine(Path.GetTempPath(), $"jobruntime-steady-{Guid.NewGuid():N}.db") : null;
            if (database is not null)
            {
                builder.UseSqlite($"Data Source={database}");
            }

            try
            {
                await using var services = builder.Services.BuildServiceProvider();
                using var burst = await NoopBurst.StartAsync(services);
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                await burst.RunAsync(jobs);
                clock.Stop();
                allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                Console.WriteLine(FormattableString.Invariant($"{store} round {round}: {jobs:N0} jobs in {clock.Elapsed.TotalMilliseconds:N0} ms = {jobs / clock.Elapsed.TotalSeconds:N0} jobs/s, {cpu.TotalMicroseconds / jobs:N1} µs CPU per job, {allocated / (double)jobs:N0} B allocated per job"));
            }
            finally
            {
                if (database is not null)
                {
                    BenchDatabase.Delete(database);
                }
            }
        }

        return 0;
    }

    /// <summary>The value after <paramref name="name"/> on the command line, if any.</summary>
    internal static string? Value(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
