using System.Diagnostics;
using System.Globalization;
using System.Net.ServerSentEvents;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Progress over Server-Sent Events on loopback: N clients watch one job (<c>MapJobRuntime</c>'s
/// <c>/api/jobs/{id}/events</c>) that publishes P progress events as fast as it can. Reported: events
/// delivered to the clients per second (progress is droppable: a client that falls behind gets the
/// newest), and how long the job took to publish them — with no client, its cost when no one listens.
/// Usage: --sse-fanout [--clients 1,100,1000] [--events 20000]
/// </summary>
internal static class SseFanOut
{
    public static async Task<int> RunAsync(string[] args)
    {
        var clientCounts = (SteadyLoop.Value(args, "--clients") ?? "0,1,100,1000").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var events = int.Parse(SteadyLoop.Value(args, "--events") ?? "20000", CultureInfo.InvariantCulture);
        var (app, address) = await BenchWeb.StartAsync(services =>
        {
            services.AddSingleton<Publisher>();
            services.AddJobRuntime(o => o.MaxConcurrency = 2).AddHandler<PublishHandler>("publish");
        });
        await using var _ = app;
        var jobs = app.Services.GetRequiredService<IJobManager>();
        var publisher = app.Services.GetRequiredService<Publisher>();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = address, Timeout = Timeout.InfiniteTimeSpan };

        Console.WriteLine($"one job publishing {events:N0} progress events; clients watch it over SSE on loopback ({Environment.ProcessorCount} cores)");
        foreach (var clients in clientCounts)
        {
            publisher.Reset();
            var id = await jobs.SubmitAsync(new PublishArgs(events));
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
                $"{clients,5} clients: publishing took {publisher.Elapsed.TotalMilliseconds,7:0.0} ms ({publisher.Elapsed.TotalNanoseconds / events,6:0} ns per event); {delivered,10:N0} events delivered in {clock.Elapsed.TotalMilliseconds,7:0} ms = {delivered / clock.Elapsed.TotalSeconds,12:N0} deliveries/s"));
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

    internal sealed record PublishArgs(int Events);

    internal sealed class Publisher
    {
        public TaskCompletionSource Ready { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Go { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TimeSpan Elapsed { get; set; }

        public void Reset()
        {
            Ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Go = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Waits for the clients, then reports progress as fast as it can.</summary>
    internal sealed class PublishHandler(Publisher publisher) : IJobHandler<PublishArgs, int>
    {
        public async ValueTask<int> ExecuteAsync(PublishArgs args, JobContext context)
        {
            publisher.Ready.TrySetResult();
            await publisher.Go.Task;
            var clock = Stopwatch.StartNew();
            for (var i = 1; i <= args.Events; i++)
            {
                context.ReportProgress(i, args.Events);
            }

            publisher.Elapsed = clock.Elapsed;
            return args.Events;
        }
    }
}
