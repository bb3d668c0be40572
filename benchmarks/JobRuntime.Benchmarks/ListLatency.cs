using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Time to first byte of <c>GET {prefix}/api/jobs</c> (the dashboard's first page: 50 newest jobs)
/// with a SQLite store holding many jobs, over loopback.
/// Usage: --list-ttfb [--jobs 100000] [--requests 200]
/// </summary>
internal static class ListLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = int.Parse(SteadyLoop.Value(args, "--jobs") ?? "100000", CultureInfo.InvariantCulture);
        var requests = int.Parse(SteadyLoop.Value(args, "--requests") ?? "200", CultureInfo.InvariantCulture);
        var path = BenchDatabase.NewPath();
        try
        {
            var (app, address) = await BenchWeb.StartAsync(services => services.AddJobRuntime().UseSqlite($"Data Source={path}").AddHandler<NoopHandler>("noop"));
            await using var _ = app;
            var jobs = app.Services.GetRequiredService<IJobManager>();

            // Delayed a day: they stay pending, as a backlog would.
            var fill = Stopwatch.StartNew();
            var later = new JobSubmitOptions { Delay = TimeSpan.FromDays(1) };
            for (var done = 0; done < count; done += 1000)
            {
                await Task.WhenAll(Enumerable.Range(0, Math.Min(1000, count - done)).Select(_ => jobs.SubmitAsync(new NoopArgs(0), later).AsTask()));
            }

            Console.WriteLine($"{count:N0} jobs stored in {fill.Elapsed.TotalSeconds:0.0} s");
            using var http = new HttpClient { BaseAddress = address };
            var firstByte = new double[requests];
            var whole = new double[requests];
            for (var i = -10; i < requests; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await http.GetAsync("/jobs/api/jobs?limit=50", HttpCompletionOption.ResponseHeadersRead);
                var headers = clock.Elapsed.TotalMilliseconds;
                await response.Content.ReadAsByteArrayAsync();
                if (i >= 0)
                {
                    firstByte[i] = headers;
                    whole[i] = clock.Elapsed.TotalMilliseconds;
                }
            }

            Array.Sort(firstByte);
            Array.Sort(whole);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"GET /jobs/api/jobs?limit=50, {requests} requests: first byte p50 {firstByte[requests / 2]:0.00} ms, p99 {firstByte[requests * 99 / 100]:0.00} ms; whole response p50 {whole[requests / 2]:0.00} ms"));
            await app.StopAsync();
            return 0;
        }
        finally
        {
            BenchDatabase.Delete(path);
        }
    }
}
