using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using Coravel;
using Coravel.Invocable;
using Coravel.Queuing;
using Coravel.Queuing.Interfaces;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>A Coravel invocable with a payload that does nothing but report that it ran.</summary>
public sealed class CoravelNoop : IInvocable, IInvocableWithPayload<int>
{
    public int Payload { get; set; }

    public Task Invoke()
    {
        Completion.Current!.One();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The in-memory peers, each run the way its documentation shows for queued work with a payload:
/// Coravel's queue (an invocable with a payload per item, resolved from a DI scope; consumed
/// directly, as its hosted service does on each tick), TPL Dataflow's <c>ActionBlock</c> and a
/// raw channel drained by one reader per core. Each runs N no-op items and finishes when all ran.
/// </summary>
public static class Peers
{
    public const int Concurrency = 64;

    /// <summary>Coravel's queue in a service provider of its own.</summary>
    public static (ServiceProvider Services, Queue Queue) StartCoravel()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddQueue();
        services.AddTransient<CoravelNoop>();
        var provider = services.BuildServiceProvider();
        return (provider, (Queue)provider.GetRequiredService<IQueue>());
    }

    public static async Task CoravelAsync(Queue queue, int count)
    {
        var completion = Completion.Current = new Completion(count);
        for (var i = 0; i < count; i++)
        {
            queue.QueueInvocableWithPayload<CoravelNoop, int>(i);
        }

        while (!completion.Task.IsCompleted)
        {
            await queue.ConsumeQueueAsync();
        }
    }

    public static async Task ActionBlockAsync(int count)
    {
        var completion = new Completion(count);
        var block = new ActionBlock<int>(_ => completion.One(), new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Concurrency });
        for (var i = 0; i < count; i++)
        {
            block.Post(i);
        }

        await completion.Task;
        block.Complete();
        await block.Completion;
    }

    /// <summary>The practical limit: a channel drained by one reader per core, running a no-op delegate per item.</summary>
    public static async Task RawChannelAsync(int count)
    {
        var channel = Channel.CreateUnbounded<Func<int, int>>(new UnboundedChannelOptions { SingleWriter = true });
        var completion = new Completion(count);
        var readers = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Task.Run(async () =>
        {
            await foreach (var work in channel.Reader.ReadAllAsync())
            {
                work(0);
                completion.One();
            }
        })).ToArray();
        Func<int, int> noop = static i => i;
        for (var i = 0; i < count; i++)
        {
            channel.Writer.TryWrite(noop);
        }

        await completion.Task;
        channel.Writer.Complete();
        await Task.WhenAll(readers);
    }
}
