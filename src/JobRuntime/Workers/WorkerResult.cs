using JobRuntime.ThreadDumps;

namespace JobRuntime;

/// <summary>How an ad-hoc task of <see cref="WorkerManager"/> ended.</summary>
/// <typeparam name="T">The task's value type.</typeparam>
public sealed record WorkerResult<T>
{
    /// <summary>The task's id.</summary>
    public required JobId Id { get; init; }

    /// <summary>The task's name.</summary>
    public required string Name { get; init; }

    /// <summary>Whether the task returned a value.</summary>
    public bool Success { get; init; }

    /// <summary>The value, when it succeeded.</summary>
    public T? Value { get; init; }

    /// <summary>The exception it failed with, or why it did not finish.</summary>
    public Exception? Error { get; init; }

    /// <summary>The failure's stack trace, or the thread dump's text for a timeout.</summary>
    public string? StackTrace { get; init; }

    /// <summary>Whether it ran past its timeout.</summary>
    public bool TimedOut { get; init; }

    /// <summary>Whether it was cancelled (by <see cref="WorkerTask{T}.Cancel"/> or a shutdown) before it finished.</summary>
    public bool Cancelled { get; init; }

    /// <summary>The dump captured at its deadline, when it timed out.</summary>
    public ThreadDump? ThreadDump { get; init; }

    /// <summary>How long it ran (zero if it never started).</summary>
    public TimeSpan Duration { get; init; }
}
