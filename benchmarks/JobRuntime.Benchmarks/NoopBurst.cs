using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Bursts of no-op jobs through one started JobRuntime: N submitted at once, done when all N
/// handlers ran (each reports to <see cref="Completion.Current"/>, as the peers' jobs do); nobody
/// subscribes to the jobs' events. Shared by the throughput benchmarks and <c>--steady</c>.
/// </summary>
public sealed class NoopBurst : IDisposable
{
    private readonly IJobManager _jobs;

    private NoopBurst(IJobManager jobs) => _jobs = jobs;

    /// <summary>
    /// Runs one job through the runtime first (starts the dispatcher, creates a store's schema), so
    /// that no burst pays for that.
    /// </summary>
    public static async Task<NoopBurst> StartAsync(IServiceProvider services)
    {
        var jobs = services.GetRequiredService<IJobManager>();
        await jobs.WaitForCompletionAsync(await jobs.SubmitAsync(new NoopArgs(-1)));
        return new NoopBurst(jobs);
    }

    /// <summary>Submits <paramref name="count"/> no-op jobs at once and waits until all of them ran.</summary>
    public async Task RunAsync(int count)
    {
        var completion = Completion.Current = new Completion(count);
        // A submit that completed at once (in memory) is not made a Task: its cost is the library's, not the harness's.
        var pending = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            var submit = _jobs.SubmitAsync(new NoopArgs(i));
            if (submit.IsCompletedSuccessfully)
            {
                _ = submit.Result;
            }
            else
            {
                pending.Add(submit.AsTask());
            }
        }

        await Task.WhenAll(pending);
        await completion.Task;
    }

    public void Dispose()
    {
    }
}
