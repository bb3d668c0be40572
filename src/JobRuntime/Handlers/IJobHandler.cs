namespace JobRuntime;

/// <summary>
/// Runs jobs of one type. A new handler is resolved from a DI scope for every attempt, so
/// handlers may depend on scoped services.
/// </summary>
/// <typeparam name="TArgs">The job's arguments, deserialized from the stored payload.</typeparam>
/// <typeparam name="TResult">The job's result, serialized and stored when the job completes.</typeparam>
public interface IJobHandler<in TArgs, TResult>
{
    /// <summary>
    /// Runs one attempt. Observe <see cref="JobContext.CancellationToken"/>: it trips when the job
    /// is cancelled, times out or the runtime shuts down. Throwing fails the attempt (and may
    /// retry it); throwing <see cref="OperationCanceledException"/> after the token trips ends the
    /// job as cancelled (or timed out).
    /// </summary>
    /// <param name="args">The job's arguments.</param>
    /// <param name="context">The job's context: id, token, progress, stage, events, parent results, logger.</param>
    /// <returns>The result.</returns>
    ValueTask<TResult> ExecuteAsync(TArgs args, JobContext context);
}
