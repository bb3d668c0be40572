using JobRuntime;

namespace JobRuntime.Samples.QuickStart;

/// <summary>The arguments of a prime-counting job.</summary>
/// <param name="UpTo">Count the primes below this number.</param>
public sealed record PrimeCountArgs(int UpTo);

/// <summary>The result of a prime-counting job.</summary>
/// <param name="UpTo">The bound.</param>
/// <param name="Count">How many primes lie below it.</param>
public sealed record PrimeCountResult(int UpTo, int Count);

/// <summary>A CPU-bound job: counts primes with a sieve, reporting progress and observing cancellation.</summary>
public sealed class PrimeCountHandler : IJobHandler<PrimeCountArgs, PrimeCountResult>
{
    /// <inheritdoc />
    public ValueTask<PrimeCountResult> ExecuteAsync(PrimeCountArgs args, JobContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfLessThan(args.UpTo, 2);
        context.SetStage("sieve");
        var composite = new bool[args.UpTo];
        var count = 0;
        var reportEvery = Math.Max(1, args.UpTo / 100);
        for (var n = 2; n < args.UpTo; n++)
        {
            if (n % reportEvery == 0)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                context.ReportProgress(n, args.UpTo, $"{count} primes so far");
            }

            if (composite[n])
            {
                continue;
            }

            count++;
            for (var m = (long)n * n; m < args.UpTo; m += n)
            {
                composite[m] = true;
            }
        }

        context.ReportProgress(args.UpTo, args.UpTo, $"{count} primes");
        return ValueTask.FromResult(new PrimeCountResult(args.UpTo, count));
    }
}
