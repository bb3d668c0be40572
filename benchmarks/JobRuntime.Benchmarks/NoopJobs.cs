
namespace JobRuntime.Benchmarks;

/// <summary>The arguments of a no-op job.</summary>
/// <param name="Index">The job's index.</param>
public sealed record NoopArgs(int Index);

/// <summary>A JobRuntime job that does nothing but report that it ran (to <see cref="Completion.Current"/>, when set), like the peers' no-op jobs.</summary>
public sealed class NoopHandler : IJobHandler<NoopArgs, int>
{
    public ValueTask<int> ExecuteAsync(NoopArgs args, JobContext context)
    {
        if (args.Index >= 0)
        {
            Completion.Current?.One();
        }

        return ValueTask.FromResult(args.Index);
    }
}

/// <summary>A Hangfire job that does nothing but report that it ran.</summary>
public static class HangfireNoop
{
    public static void Run(int index) => Completion.Current!.One();

    /// <summary>Enqueues <paramref name="count"/> no-op jobs; the returned completion counts them as they run.</summary>
    public static Completion Enqueue(Hangfire.IBackgroundJobClient client, int count)
    {
        var completion = Completion.Current = new Completion(count);
        for (var i = 0; i < count; i++)
        {
            var index = i;
            Hangfire.BackgroundJobClientExtensions.Enqueue(client, () => Run(index));
        }

        return completion;
    }
}

/// <summary>A Quartz.NET job that does nothing but report that it ran.</summary>
public sealed class QuartzNoop : Quartz.IJob
{
    public ValueTask Execute(Quartz.IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        Completion.Current!.One();
        return ValueTask.CompletedTask;
    }
}
