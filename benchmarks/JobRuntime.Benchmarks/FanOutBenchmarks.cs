using BenchmarkDotNet.Attributes;
using JobRuntime.Progress;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Scenario 3: one job publishes progress events to 1, 10 and 100 subscribers, each draining its
/// own buffer concurrently. A run publishes <see cref="Sizes.Events"/> events and ends when every
/// subscriber has read the terminal event. Buffers are large enough that nothing is dropped, so
/// each run delivers events × subscribers events.
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private ServiceProvider? _services;
    private IProgressBroker? _broker;

    [Params(1, 10, 100)]
    public int Subscribers { get; set; }

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
        var events = Sizes.Events;
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
        var events = Sizes.Events;
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
