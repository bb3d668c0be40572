namespace JobRuntime;

/// <summary>Defaults for the jobs of one handler. Submit options override them.</summary>
public sealed class JobHandlerOptions
{
    /// <summary>Run each attempt on a dedicated thread rather than the thread pool (for CPU-bound work that would starve the pool).</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool DedicatedThread { get; set; }

    /// <summary>The queue of this handler's jobs; <see langword="null"/> for the runtime's default queue.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public string? Queue { get; set; }

    /// <summary>The time limit of one attempt; <see langword="null"/> for the runtime's default.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public TimeSpan? Timeout { get; set; }

    /// <summary>The most attempts; <see langword="null"/> for the runtime's default.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public int? MaxAttempts { get; set; }

    /// <summary>Which failures are retried and how soon; <see langword="null"/> for the runtime's (every exception, its back-off).</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public JobRetryPolicy? Retry { get; set; }

    /// <summary>
    /// Called once when a job of this type fails for good — its last attempt failed or timed out, a
    /// failure its retry policy does not retry, or recovery ended it — with the job as stored, a DI
    /// scope of its own and a token: a dead-letter callback (log it, alert, submit a compensating
    /// job). Runs on the thread pool after the failure was stored; an exception it throws is logged.
    /// At most once: a process that dies between the write and the call does not make it.
    /// </summary>
    /// <value>Default: <see langword="null"/>.</value>
    public Func<JobSnapshot, IServiceProvider, CancellationToken, ValueTask>? OnFinalFailure { get; set; }
}
