
namespace JobRuntime.Samples.QuickStart;

/// <summary>The arguments of a job that counts slowly, to have something to cancel.</summary>
/// <param name="Seconds">How many seconds to count.</param>
public sealed record SlowCountArgs(int Seconds);

/// <summary>An I/O-like job: waits a tick at a time, observing cancellation.</summary>
public sealed class SlowCountHandler : IJobHandler<SlowCountArgs, int>
{
    /// <inheritdoc />
    public async ValueTask<int> ExecuteAsync(SlowCountArgs args, JobContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var ticks = args.Seconds * 10;
        for (var i = 1; i <= ticks; i++)
        {
            await Task.Delay(100, context.CancellationToken).ConfigureAwait(false);
            context.ReportProgress(i, ticks);
        }

        return ticks;
    }
}
