namespace JobRuntime;

/// <summary>How the wait before a retry grows with the attempts.</summary>
public enum RetryBackoff
{
    /// <summary><see cref="JobRetryPolicy.Delay"/> doubled after each failed attempt: 1×, 2×, 4×, …</summary>
    Exponential = 0,

    /// <summary><see cref="JobRetryPolicy.Delay"/> times the failed attempt's number: 1×, 2×, 3×, …</summary>
    Linear = 1,

    /// <summary>Always <see cref="JobRetryPolicy.Delay"/>.</summary>
    Fixed = 2,
}

/// <summary>
/// When and how soon a handler's failed attempts are retried (<see cref="JobHandlerOptions.Retry"/>).
/// The number of attempts is <see cref="JobHandlerOptions.MaxAttempts"/> (or the submit's); the wait
/// is kept as the job's run time in the store, never held in a slot. Without a policy, every
/// exception is retried with the runtime's <see cref="JobRuntimeOptions.RetryBaseDelay"/>,
/// <see cref="JobRuntimeOptions.RetryMaxDelay"/> and <see cref="JobRuntimeOptions.RetryJitter"/>.
/// </summary>
/// <example>
/// <code>
/// .AddHandler&lt;ChargeHandler&gt;("charge", h =&gt;
/// {
///     h.MaxAttempts = 5;
///     h.Retry = new JobRetryPolicy { Backoff = RetryBackoff.Linear, Delay = TimeSpan.FromSeconds(10) }
///         .Handle&lt;HttpRequestException&gt;()
///         .Handle&lt;TimeoutException&gt;();   // anything else fails at once
/// })
/// </code>
/// </example>
public sealed class JobRetryPolicy
{
    private readonly List<Func<Exception, bool>> _handles = [];

    /// <summary>How the wait grows.</summary>
    /// <value>Default: <see cref="RetryBackoff.Exponential"/>.</value>
    public RetryBackoff Backoff { get; set; }

    /// <summary>The wait before the first retry (and the step of the growth).</summary>
    /// <value>Default: 2 seconds. Must be positive.</value>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait.</summary>
    /// <value>Default: 10 minutes. At least <see cref="Delay"/>.</value>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How much each wait is spread, as a fraction (0.2: ±20 %), so that jobs failing together do not retry together.</summary>
    /// <value>Default: 0.2. Between 0 and 1.</value>
    public double Jitter { get; set; } = 0.2;

    /// <summary>Whether any exception is retried (no <c>Handle</c> given), or only those handled.</summary>
    public bool RetriesEverything => _handles.Count == 0;

    /// <summary>Retries exceptions of <typeparamref name="TException"/> (and types derived from it); once any <c>Handle</c> is given, other exceptions fail the job at once.</summary>
    /// <typeparam name="TException">The exception type.</typeparam>
    /// <returns>This policy.</returns>
    public JobRetryPolicy Handle<TException>()
        where TException : Exception
    {
        _handles.Add(static e => e is TException);
        return this;
    }

    /// <summary>Retries the exceptions <paramref name="predicate"/> accepts; once any <c>Handle</c> is given, other exceptions fail the job at once.</summary>
    /// <param name="predicate">Whether an exception is worth a retry.</param>
    /// <returns>This policy.</returns>
    public JobRetryPolicy Handle(Func<Exception, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        _handles.Add(predicate);
        return this;
    }

    /// <summary>Whether this policy retries <paramref name="exception"/>.</summary>
    /// <param name="exception">What the attempt threw.</param>
    /// <returns><see langword="true"/> when a retry may follow.</returns>
    public bool Retries(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (_handles.Count == 0)
        {
            return true;
        }

        foreach (var handle in _handles)
        {
            if (handle(exception))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The wait after failed attempt number <paramref name="attempt"/> (1 for the first), before jitter.</summary>
    /// <param name="attempt">The failed attempt's number, from 1.</param>
    /// <returns>The wait, capped at <see cref="MaxDelay"/>.</returns>
    public TimeSpan DelayAfter(int attempt)
    {
        var n = Math.Max(1, attempt);
        var factor = Backoff switch
        {
            RetryBackoff.Linear => n,
            RetryBackoff.Fixed => 1,
            _ => Math.Pow(2, n - 1),
        };
        var ms = Math.Min(Delay.TotalMilliseconds * factor, MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>The wait after failed attempt number <paramref name="attempt"/>, spread by ±<see cref="Jitter"/>: what the runtime waits.</summary>
    /// <param name="attempt">The failed attempt's number, from 1.</param>
    /// <param name="random">Numbers in [0, 1) for the jitter; <see cref="Random.Shared"/> when <see langword="null"/>.</param>
    /// <returns>The wait.</returns>
    public TimeSpan WaitAfter(int attempt, Func<double>? random = null)
    {
        var ms = DelayAfter(attempt).TotalMilliseconds;
        if (Jitter > 0)
        {
            ms *= 1 + (Jitter * ((2 * (random ?? Random.Shared.NextDouble)()) - 1));
        }

        return TimeSpan.FromMilliseconds(Math.Max(0, ms));
    }

    /// <summary>Every problem with the policy's settings.</summary>
    /// <returns>One sentence per problem; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Delay <= TimeSpan.Zero)
        {
            errors.Add($"Retry.Delay must be positive (was {Delay}).");
        }

        if (MaxDelay < Delay)
        {
            errors.Add($"Retry.MaxDelay must be at least Retry.Delay (was {MaxDelay}, Delay {Delay}).");
        }

        if (double.IsNaN(Jitter) || Jitter is < 0 or > 1)
        {
            errors.Add($"Retry.Jitter must be between 0 and 1 (was {Jitter}).");
        }

        if (!Enum.IsDefined(Backoff))
        {
            errors.Add($"Retry.Backoff is not a known back-off (was {(int)Backoff}).");
        }

        return errors;
    }
}
