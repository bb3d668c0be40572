namespace JobRuntime;

/// <summary>
/// Code around every submit, before anything is stored: validate, enrich options (a tenant tag, a
/// queue by rule), or refuse with <see cref="JobSubmitRejectedException"/>. Registered with
/// <see cref="JobRuntimeBuilder.AddSubmitFilter{TFilter}"/> (a singleton; filters run in the order
/// they were added). Applies to the manager's <c>SubmitAsync</c> overloads, the JSON
/// submits, re-runs and submits over HTTP; not to the occurrences of recurring jobs, whose options
/// are checked when the schedule is added.
/// </summary>
public interface IJobSubmitFilter
{
    /// <summary>Sees a submit before it is stored; returns the options to store it with.</summary>
    /// <param name="submit">The job type, its arguments as JSON and the options so far.</param>
    /// <param name="cancellationToken">The submit's token.</param>
    /// <returns>The options, changed or as they came (<c>submit.Options with { … }</c> to change them).</returns>
    /// <exception cref="JobSubmitRejectedException">The submit is refused; nothing is stored.</exception>
    ValueTask<JobSubmitOptions> OnSubmitAsync(JobSubmitContext submit, CancellationToken cancellationToken);
}

/// <summary>A submit as a <see cref="IJobSubmitFilter"/> sees it.</summary>
/// <param name="JobType">The job type.</param>
/// <param name="Payload">The arguments, as the JSON that will be stored.</param>
/// <param name="Options">The options so far (the submitter's, as changed by earlier filters).</param>
/// <param name="RerunOf">The job being re-run, for a re-run.</param>
public sealed record JobSubmitContext(string JobType, string Payload, JobSubmitOptions Options, JobId? RerunOf);

/// <summary>A submit filter refused a submit; nothing was stored.</summary>
public sealed class JobSubmitRejectedException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public JobSubmitRejectedException()
        : base("The submit was refused.")
    {
    }

    /// <summary>Creates the exception with a message saying why.</summary>
    /// <param name="message">Why the submit was refused.</param>
    public JobSubmitRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error behind it.</summary>
    /// <param name="message">Why the submit was refused.</param>
    /// <param name="innerException">The error behind it.</param>
    public JobSubmitRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
