using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// What a timeout costs a job with JobRuntime.Diagnostics' EventPipe dumps: jobs that hang (but
/// honour their token) run one after another with a 100 ms timeout; for each, how long after its
/// deadline its token tripped, how long after the deadline its record was written, and how long the
/// dump took. Optionally with every core busy (<c>--load</c>). Not BenchmarkDotNet: each sample is a
/// real timeout.
/// </summary>
internal static class TimeoutCost
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.SkipWhile(a => a != "--jobs").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(20);
        var load = args.Contains("--load");
        var timeout = TimeSpan.FromMilliseconds(100);
        var probe = new TripProbe();
        var services = new ServiceCollection().AddSingleton(probe);
        services.AddJobRuntime(o =>
            {
                o.ThreadDumpMinimumInterval = TimeSpan.Zero;
                o.CancellationGracePeriod = TimeSpan.FromSeconds(10);
            })
            .AddThreadDumpDiagnostics()
            .AddHandler<HangUntilCancelledHandler>("hang");
        await using var provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IJobManager>();

        using var stopLoad = new CancellationTokenSource();
        var burners = load
            ? Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Task.Factory.StartNew(() => Burn(stopLoad.Token), TaskCreationOptions.LongRunning)).ToArray()
            : [];

        // One untimed timeout first: the process's first EventPipe capture compiles TraceEvent's code.
        await RunOneAsync(jobs, probe, timeout);
        var trips = new List<double>();
        var records = new List<double>();
        var captures = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var (trip, record, capture) = await RunOneAsync(jobs, probe, timeout);
            trips.Add(trip);
            records.Add(record);
            captures.Add(capture);
        }

        await stopLoad.CancelAsync();
        await Task.WhenAll(burners);
        Console.WriteLine($"{count} timeouts of {timeout.TotalMilliseconds:0} ms, EventPipe dumps{(load ? $", {Environment.ProcessorCount} cores busy" : "")}:");
        Console.WriteLine($"  token tripped after the deadline: {Describe(trips)}");
        Console.WriteLine($"  record written after the deadline: {Describe(records)}");
        Console.WriteLine($"  dump capture (CaptureDuration):   {Describe(captures)}");
        return 0;
    }

    private static async Task<(double Trip, double Record, double Capture)> RunOneAsync(IJobManager jobs, TripProbe probe, TimeSpan timeout)
    {
        probe.Reset();
        var id = await jobs.SubmitAsync("hang", 0, new JobSubmitOptions { Timeout = timeout });
        var job = await jobs.WaitForCompletionAsync(id);
        if (job.Status != JobStatus.TimedOut || job.StartedAt is not { } started || job.CompletedAt is not { } completed)
        {
            throw new InvalidOperationException($"job {id} ended {job.Status}, expected TimedOut");
        }

        var dump = await jobs.GetThreadDumpAsync(id) ?? throw new InvalidOperationException($"job {id} kept no dump");
        var trip = Stopwatch.GetElapsedTime(probe.StartedAt, probe.TrippedAt) - timeout;
        var record = completed - started - timeout;
        return (trip.TotalMilliseconds, record.TotalMilliseconds, dump.CaptureDuration.TotalMilliseconds);
    }

    private static string Describe(List<double> ms)
    {
        var sorted = ms.Order().ToList();
        return string.Create(CultureInfo.InvariantCulture, $"p50 {sorted[sorted.Count / 2]:0} ms, max {sorted[^1]:0} ms");
    }

    private static void Burn(CancellationToken stop)
    {
        var x = 0.0;
        while (!stop.IsCancellationRequested)
        {
            for (var i = 0; i < 100_000; i++)
            {
                x += Math.Sqrt(i);
            }
        }

        GC.KeepAlive(x);
    }

    /// <summary>When the current job started and when its token tripped (stopwatch timestamps).</summary>
    internal sealed class TripProbe
    {
        public long StartedAt;
        public long TrippedAt;

        public void Reset() => StartedAt = TrippedAt = 0;
    }

    /// <summary>Hangs at an await until its token trips, and records when that was.</summary>
    internal sealed class HangUntilCancelledHandler(TripProbe probe) : IJobHandler<int, int>
    {
        public async ValueTask<int> ExecuteAsync(int args, JobContext context)
        {
            probe.StartedAt = Stopwatch.GetTimestamp();
            using var registration = context.CancellationToken.Register(() => probe.TrippedAt = Stopwatch.GetTimestamp());
            await Task.Delay(Timeout.Infinite, context.CancellationToken).ConfigureAwait(false);
            return args;
        }
    }
}
