namespace JobRuntime;

/// <summary>Why a job did not complete: the exception it ended with, or the runtime's reason.</summary>
/// <param name="Type">The exception's full type name, or a runtime reason such as "Timeout".</param>
/// <param name="Message">The exception message.</param>
/// <param name="StackTrace">The stack trace, including inner exceptions, if any.</param>
public sealed record JobError(string Type, string Message, string? StackTrace = null)
{
    /// <summary>Describes an exception.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>The error.</returns>
    public static JobError FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new JobError(exception.GetType().FullName ?? exception.GetType().Name, exception.Message, exception.ToString());
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type}: {Message}";
}
