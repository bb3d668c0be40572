namespace JobRuntime.Engine;

/// <summary>The engine's one back-off formula, and the helper its loops share to end quietly.</summary>
internal static class Backoff
{
    private static readonly TimeSpan FirstStoreRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxStoreRetry = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The wait before try number <paramref name="attempt"/> + 1: <paramref name="first"/> doubled
    /// for each try after the first, capped at <paramref name="max"/>, then spread by ±<paramref name="jitter"/>.
    /// </summary>
    public static TimeSpan Delay(TimeSpan first, int attempt, TimeSpan max, double jitter = 0, Func<double>? random = null)
        => Spread(new JobRetryPolicy { Delay = first, MaxDelay = max }.DelayAfter(attempt), jitter, random);

    /// <summary>A wait spread by ±<paramref name="jitter"/> (a fraction), with numbers in [0, 1) from <paramref name="random"/> (<see cref="Random.Shared"/> by default).</summary>
    public static TimeSpan Spread(TimeSpan wait, double jitter, Func<double>? random = null)
    {
        var ms = wait.TotalMilliseconds;
        if (jitter > 0)
        {
            ms *= 1 + (jitter * ((2 * (random ?? Random.Shared.NextDouble)()) - 1));
        }

        return TimeSpan.FromMilliseconds(Math.Max(0, ms));
    }

    /// <summary>After the <paramref name="failures"/>-th store failure in a row: 100 ms, 200 ms, … up to 5 s.</summary>
    public static TimeSpan AfterStoreFailure(int failures) => Delay(FirstStoreRetry, failures, MaxStoreRetry);

    /// <summary>Awaits a loop's task; its cancellation (the engine stopping) is not an error.</summary>
    public static async Task IgnoreCancellation(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
