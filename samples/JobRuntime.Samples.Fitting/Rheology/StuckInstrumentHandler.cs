using System.Runtime.CompilerServices;

namespace JobRuntime.Samples.Fitting.Rheology;

/// <summary>Arguments of the deliberately stuck job used by <c>--hang</c>.</summary>
public sealed record InstrumentArgs(string Instrument);

/// <summary>
/// A fit that never converges: its loop waits, synchronously, for an instrument reading that never
/// comes, and ignores cancellation. The timeout dump (all threads, via JobRuntime.Diagnostics) shows
/// the job's thread inside <c>StuckInFitLoop</c>.
/// </summary>
public sealed class StuckInstrumentHandler : IJobHandler<InstrumentArgs, string>
{
    private static readonly object Reading = new();

    /// <inheritdoc />
    public ValueTask<string> ExecuteAsync(InstrumentArgs args, JobContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        context.ReportProgress(0, 1, $"fitting live data from {args.Instrument}");
        return ValueTask.FromResult(StuckInFitLoop(args.Instrument));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string StuckInFitLoop(string instrument)
    {
        lock (Reading)
        {
            // Nobody ever pulses: the next reading never arrives.
            while (true)
            {
                Monitor.Wait(Reading);
            }
        }
    }
}
