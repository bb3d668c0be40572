using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Scenario 3: one job publishes progress events to 1, 10 and 100 subscribers, each draining its
/// own buffer concurrently. A run publishes <see cref="Events"/> progress events (plus a start and
/// a terminal event) and ends when every subscriber has read the terminal event. Buffers are large
/// enough that nothing is dropped, so each run delivers (events + 2) × subscribers events.
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private ServiceProvider? _services;
    private IProgressBroker? _broker;

    [Params(1, 10, 100)]
    public int Subscribers { get; set; }

    /// <summary>
    /// Progress events per run. A parameter, not a read of <see cref="Sizes"/> inside the
    /// benchmark: BenchmarkDotNet runs benchmarks in a child process, where only parameters carry
    /// the <c>--quick</c> or <c>--smoke</c> choice.
    /// </summary>
    [ParamsSource(nameof(EventCounts))]
    public int Events { get; set; }

    public static IEnumerable<int> EventCounts => [Sizes.Events];

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddJobRuntime().Services.BuildServiceProvider();
        _broker = _services.GetRequiredService<IProgressBroker>();
    }

    [GlobalCleanup]
    public void Cleanup() => _services?.Dispose();

    /// <summary>The practical limit: one unbounded channel per subscriber, the publisher writing to each.</summary>
    [Benchmark(Baseline = true)]
    public async Task<long> RawChannels()
    {
        var events = Events;
        var channels = Enumerable.Range(0, Subscribers).Select(_ => System.Threading.Channels.Channel.CreateUnbounded<JobEvent>(new System.Threading.Channels.UnboundedChannelOptions { SingleWriter = true, SingleReader = true })).ToArray();
        var readers = channels.Select(c => Task.Run(async () =>
        {
            long read = 0;
            await foreach (var unused in c.Reader.ReadAllAsync())
            {
                read++;
            }

            return read;
        })).ToArray();

        var id = JobId.New();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i <= events + 1; i++)
        {
            var e = new JobEvent(id, JobEventKind.Progress, JobStatus.Running, now) { Progress = new JobProgress(i, events) };
            foreach (var channel in channels)
            {
                channel.Writer.TryWrite(e);
            }
        }

        foreach (var channel in channels)
        {
            channel.Writer.Complete();
        }

        return (await Task.WhenAll(readers)).Sum();
    }

    [Benchmark]
    public async Task<long> ProgressBroker()
    {
        var events = Events;
        var id = JobId.New();
        var subscriptions = Enumerable.Range(0, Subscribers).Select(_ => _broker!.Subscribe(id, bufferCapacity: events + 1)).ToArray();
        var readers = subscriptions.Select(s => Task.Run(async () =>
        {
            long read = 0;
            await foreach (var unused in s.ReadAllAsync())
            {
                read++;
            }

            return read;
        })).ToArray();

        var now = DateTimeOffset.UtcNow;
        _broker!.Publish(new JobEvent(id, JobEventKind.Started, JobStatus.Running, now));
        for (var i = 1; i <= events; i++)
        {
            _broker.Publish(new JobEvent(id, JobEventKind.Progress, JobStatus.Running, now) { Progress = new JobProgress(i, events) });
        }

        _broker.Publish(new JobEvent(id, JobEventKind.Completed, JobStatus.Completed, now));
        var delivered = (await Task.WhenAll(readers)).Sum();
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        return delivered;
    }
}
