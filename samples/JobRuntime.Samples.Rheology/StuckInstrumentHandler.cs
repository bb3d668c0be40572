using JobRuntime.Handlers;

namespace JobRuntime.Samples.Rheology;

/// <summary>Arguments of the deliberately stuck job used by <c>--hang</c>.</summary>
public sealed record InstrumentArgs(string Instrument);

/// <summary>Waits for a rheometer reply that never comes, and ignores cancellation: the timeout dump shows where.</summary>
public sealed class StuckInstrumentHandler : IJobHandler<InstrumentArgs, string>
{
    /// <inheritdoc />
    public async ValueTask<string> ExecuteAsync(InstrumentArgs args, JobContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        context.ReportProgress(0, 1, $"waiting for {args.Instrument}");
        return await ReadRelaxationCurveAsync(args.Instrument).ConfigureAwait(false);
    }

    private static async Task<string> ReadRelaxationCurveAsync(string instrument) =>
        $"{instrument}: {await AwaitInstrumentReplyAsync().ConfigureAwait(false)}";

    private static Task<string> AwaitInstrumentReplyAsync() => new TaskCompletionSource<string>().Task;
}
