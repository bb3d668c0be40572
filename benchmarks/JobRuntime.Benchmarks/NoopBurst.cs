using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Bursts of no-op jobs through one started JobRuntime: N submitted at once, done when an all-jobs
/// subscription has seen N of them end. Shared by the throughput benchmarks and <c>--steady</c>.
/// </summary>
public sealed class NoopBurst : IDisposable
{
    private readonly IJobManager _jobs;
    private readonly JobEventSubscription _events;

    private NoopBurst(IJobManager jobs, JobEventSubscription events)
    {
        _jobs = jobs;
        _events = events;
    }

    /// <summary>
    /// Runs one job through the runtime first (starts the dispatcher, creates a store's schema), so
    /// that no burst pays for that, then subscribes to all jobs' events.
    /// </summary>
    public static async Task<NoopBurst> StartAsync(IServiceProvider services)
    {
        var jobs = services.GetRequiredService<IJobManager>();
        await jobs.WaitForCompletionAsync(await jobs.SubmitAsync(new NoopArgs(-1)));
        return new NoopBurst(jobs, services.GetRequiredService<IProgressBroker>().SubscribeAll(bufferCapacity: 16));
    }

    /// <summary>Submits <paramref name="count"/> no-op jobs at once and waits until all of them ended.</summary>
    public async Task RunAsync(int count)
    {
        var completion = new Completion(count);
        var counting = Task.Run(async () =>
        {
            await foreach (var e in _events.ReadAllAsync())
            {
                if (e.IsTerminal)
                {
                    completion.One();
                    if (completion.Task.IsCompleted)
                    {
                        return;
                    }
                }
            }
        });
        var submits = new Task[count];
        for (var i = 0; i < count; i++)
        {
            submits[i] = _jobs.SubmitAsync(new NoopArgs(i)).AsTask();
        }

        await Task.WhenAll(submits);
        await completion.Task;
        await counting;
    }

    public void Dispose() => _events.Dispose();
}
