namespace JobRuntime;

/// <summary>The rest of a job's pipeline: the next middleware, or at the end the handler.</summary>
/// <param name="context">The attempt's context.</param>
/// <returns>The handler's result (or the one a middleware returned instead).</returns>
public delegate ValueTask<object?> JobExecutionDelegate(JobContext context);

/// <summary>
/// Code around every attempt of every job: tenant context, auditing, timing, rules that decide
/// whether a job may run. Registered with <see cref="JobRuntimeBuilder.UseMiddleware{TMiddleware}"/>;
/// the first registered is the outermost. Made for each attempt from the attempt's DI scope, so it
/// shares scoped services with the handler.
/// </summary>
/// <remarks>
/// A middleware may call <c>next</c> once (the usual case), wrap it (try/finally, a scope, a timer),
/// or not call it: returning a value short-circuits the job with that result (it must be of the
/// handler's result type), and throwing fails the attempt as a handler's exception would (the retry
/// policy applies). It must not call <c>next</c> more than once.
/// </remarks>
public interface IJobMiddleware
{
    /// <summary>Runs around the rest of the pipeline.</summary>
    /// <param name="context">The attempt's context: the job, its token, progress, services.</param>
    /// <param name="next">The rest of the pipeline.</param>
    /// <returns>The result of the attempt.</returns>
    ValueTask<object?> InvokeAsync(JobContext context, JobExecutionDelegate next);
}
