using System.Diagnostics;
using System.Globalization;
using System.Net.ServerSentEvents;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Progress over Server-Sent Events on loopback: N clients watch one job (<c>MapJobRuntime</c>'s
/// <c>/api/jobs/{id}/events</c>) that publishes P progress events, R per second (in a burst each
/// millisecond), or as fast as it can with <c>--rate 0</c>. Reported: events delivered to the clients
/// per second (progress is droppable: a client that falls behind gets the newest) and the job's cost
/// of publishing — the CPU time of its thread inside <c>ReportProgress</c>, per event; with no client,
/// its cost when no one listens.
/// Usage: --sse-fanout [--clients 0,1,100,1000] [--events 40000] [--rate 20000]
/// </summary>
internal static class SseFanOut
{
    public static async Task<int> RunAsync(string[] args)
    {
        var clientCounts = (SteadyLoop.Value(args, "--clients") ?? "0,1,100,1000").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var events = int.Parse(SteadyLoop.Value(args, "--events") ?? "40000", CultureInfo.InvariantCulture);
        var rate = int.Parse(SteadyLoop.Value(args, "--rate") ?? "20000", CultureInfo.InvariantCulture);
        var (app, address) = await BenchWeb.StartAsync(services =>
        {
            services.AddSingleton<Publisher>();
            services.AddJobRuntime(o => o.MaxConcurrency = 2).AddHandler<PublishHandler>("publish");
        });
        await using var _ = app;
        var jobs = app.Services.GetRequiredService<IJobManager>();
        var publisher = app.Services.GetRequiredService<Publisher>();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = address, Timeout = Timeout.InfiniteTimeSpan };

        Console.WriteLine($"one job publishing {events:N0} progress events {(rate > 0 ? $"at {rate:N0}/s" : "as fast as it can")}; clients watch it over SSE on loopback ({Environment.ProcessorCount} cores)");
        foreach (var clients in clientCounts)
        {
            publisher.Reset();
            var id = await jobs.SubmitAsync(new PublishArgs(events, rate));
            await publisher.Ready.Task;

            // Every client has its stream open (and has read the job's state) before the job publishes.
            var connected = new CountdownEvent(clients);
            var readers = Enumerable.Range(0, clients).Select(_ => Task.Run(() => ReadAsync(http, id, connected))).ToArray();
            if (clients > 0)
            {
                await Task.Run(() => connected.Wait(TimeSpan.FromMinutes(2)));
            }

            var clock = Stopwatch.StartNew();
            publisher.Go.TrySetResult();
            await jobs.WaitForCompletionAsync(id);
            var delivered = (await Task.WhenAll(readers)).Sum();
            clock.Stop();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{clients,5} clients: publishing took {publisher.Elapsed.TotalMilliseconds,7:0} ms, the job's thread {publisher.CpuNanoseconds / events,6:0} ns CPU per event; {delivered,10:N0} events delivered ({(clients == 0 ? 0 : 100.0 * delivered / ((double)clients * (events + 1))),5:0.0} % of all) in {clock.Elapsed.TotalMilliseconds,7:0} ms = {delivered / clock.Elapsed.TotalSeconds,12:N0} deliveries/s"));
        }

        await app.StopAsync();
        return 0;
    }

    private static async Task<long> ReadAsync(HttpClient http, JobId id, CountdownEvent connected)
    {
        using var response = await http.GetAsync($"/jobs/api/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        long count = 0;
        var first = true;
        await foreach (var item in SseParser.Create(body).EnumerateAsync())
        {
            if (first)
            {
                connected.Signal();
                first = false;
            }

            count++;
        }

        return count;
    }

    internal sealed record PublishArgs(int Events, int Rate);

    internal sealed class Publisher
    {
        public TaskCompletionSource Ready { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Go { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TimeSpan Elapsed { get; set; }

        public long CpuNanoseconds { get; set; }

        public void Reset()
        {
            Ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Go = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Waits for the clients, then reports progress at the rate asked (or as fast as it can).</summary>
    internal sealed class PublishHandler(Publisher publisher) : IJobHandler<PublishArgs, int>
    {
        public async ValueTask<int> ExecuteAsync(PublishArgs args, JobContext context)
        {
            publisher.Ready.TrySetResult();
            await publisher.Go.Task;
            var clock = Stopwatch.StartNew();
            long cpu = 0;
            var published = 0;
            while (published < args.Events)
            {
                var due = args.Rate <= 0 ? args.Events : (int)Math.Min(args.Events, clock.Elapsed.TotalSeconds * args.Rate + 1);
                var before = ThreadCpu.Nanoseconds();
                while (published < due)
                {
                    context.ReportProgress(++published, args.Events);
                }

                cpu += ThreadCpu.Nanoseconds() - before;
                if (published < args.Events)
                {
                    await Task.Delay(1);
                }
            }

            publisher.Elapsed = clock.Elapsed;
            publisher.CpuNanoseconds = cpu;
            return args.Events;
        }
    }
}

/// <summary>The CPU time of the calling thread (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>).</summary>
internal static partial class ThreadCpu
{
    public static long Nanoseconds()
    {
        if (clock_gettime(3, out var time) != 0)
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed.");
        }

        return (time.Seconds * 1_000_000_000L) + time.Nanoseconds;
    }

    [System.Runtime.InteropServices.LibraryImport("libc")]
    private static partial int clock_gettime(int clock, out TimeSpec time);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
