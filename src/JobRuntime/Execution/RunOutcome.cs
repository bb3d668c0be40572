namespace JobRuntime;

/// <summary>
/// How a work item ended, as the executor hands it to the item: a value, not an object. The
/// runtime's own runs read it as it is; a <see cref="JobExecutionResult"/> is made from it only for
/// those who are given one (a caller of <see cref="IJobExecutor.ExecuteAsync"/>, an
/// <see cref="JobWorkItem.OnFinished"/> override).
/// </summary>
internal readonly record struct RunOutcome(JobExecutionStatus Status, object? Value, Exception? Exception, bool Abandoned, DateTimeOffset StartedAt, TimeSpan Duration)
{
    public JobExecutionResult ToResult() => new(Status)
    {
        Value = Value,
        Exception = Exception,
        Abandoned = Abandoned,
        StartedAt = StartedAt,
        Duration = Duration,
    };
}
