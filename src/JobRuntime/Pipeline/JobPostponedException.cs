namespace JobRuntime;

/// <summary>
/// Thrown by a handler (or <see cref="JobContext.RetryIn"/>) to run the job again later without
/// using up an attempt — an upstream said "try again in 30 s". The job goes back to pending with its
/// run time set that far ahead, and keeps its attempts.
/// </summary>
public sealed class JobPostponedException : Exception
{
    /// <summary>The longest postponement: as long as a job's timeout may be.</summary>
    public static readonly TimeSpan MaxDelay = JobSubmitOptions.MaxTimeout;

    /// <summary>Creates the exception.</summary>
    /// <param name="delay">How long to wait before the job runs again: zero or more, at most <see cref="MaxDelay"/>.</param>
    /// <param name="reason">Why, for the log and the event.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or longer than <see cref="MaxDelay"/>.</exception>
    public JobPostponedException(TimeSpan delay, string? reason = null)
        : base(reason ?? $"The job asked to run again in {delay}.")
    {
        if (delay < TimeSpan.Zero || delay > MaxDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(delay), delay, $"A job may be postponed by zero to {MaxDelay.TotalDays:0} days.");
        }

        Delay = delay;
    }

    /// <summary>Creates the exception with no delay (the job runs again as soon as a slot is free).</summary>
    public JobPostponedException()
        : this(TimeSpan.Zero)
    {
    }

    /// <summary>Creates the exception with no delay and a reason.</summary>
    /// <param name="message">Why.</param>
    public JobPostponedException(string message)
        : this(TimeSpan.Zero, message)
    {
    }

    /// <summary>Creates the exception with no delay, a reason and the error behind it.</summary>
    /// <param name="message">Why.</param>
    /// <param name="innerException">The error behind it.</param>
    public JobPostponedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>How long the job waits before it runs again.</summary>
    public TimeSpan Delay { get; }
}
