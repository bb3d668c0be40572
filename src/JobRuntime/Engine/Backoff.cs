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
        => new JobRetryPolicy { Delay = first, MaxDelay = max, Jitter = jitter }.WaitAfter(attempt, random);

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
