using System.Globalization;

namespace JobRuntime;

/// <summary>
/// The timing of one job's retries, given at submit (<see cref="JobSubmitOptions.Retry"/>) and kept with the
/// job: it replaces the handler's back-off, delays and jitter for that job. Which exceptions are retried stays
/// the handler's (<see cref="JobRetryPolicy.Handle{TException}"/> is code, not data).
/// </summary>
/// <param name="Backoff">How the wait grows.</param>
/// <param name="Delay">The wait before the first retry (and the step of the growth).</param>
/// <param name="MaxDelay">The longest wait.</param>
/// <param name="Jitter">How much each wait is spread, as a fraction.</param>
public sealed record JobRetryTiming(RetryBackoff Backoff, TimeSpan Delay, TimeSpan MaxDelay, double Jitter)
{
    /// <summary>The timing of a policy (its exception filters aside).</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>The timing.</returns>
    public static JobRetryTiming Of(JobRetryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new(policy.Backoff, policy.Delay, policy.MaxDelay, policy.Jitter);
    }

    /// <summary>A policy with this timing that retries every exception.</summary>
    /// <returns>The policy.</returns>
    public JobRetryPolicy ToPolicy() => new() { Backoff = Backoff, Delay = Delay, MaxDelay = MaxDelay, Jitter = Jitter };

    /// <summary>The timing as a store keeps it: <c>back-off|delay ticks|max delay ticks|jitter</c>.</summary>
    /// <returns>The text.</returns>
    public string Format() => string.Create(CultureInfo.InvariantCulture, $"{(int)Backoff}|{Delay.Ticks}|{MaxDelay.Ticks}|{Jitter:R}");

    /// <summary>Reads what <see cref="Format"/> wrote.</summary>
    /// <param name="text">The stored text, or <see langword="null"/>.</param>
    /// <returns>The timing, or <see langword="null"/> for none (or text that is not one: the handler's timing then applies).</returns>
    public static JobRetryTiming? Parse(string? text)
    {
        var parts = text?.Split('|');
        return parts is { Length: 4 }
            && int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var backoff)
            && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var delay)
            && long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var max)
            && double.TryParse(parts[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var jitter)
                ? new JobRetryTiming((RetryBackoff)backoff, new TimeSpan(delay), new TimeSpan(max), jitter)
                : null;
    }
}
