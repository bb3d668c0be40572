namespace JobRuntime;

/// <summary>Builds a new pending job the same way for a submit and for a recurring occurrence: the submit's options, else the handler's, else the runtime's.</summary>
internal static class JobFactory
{
    public static JobSnapshot Create(JobHandlerDescriptor descriptor, string payload, JobRuntimeOptions runtime, DateTimeOffset now, DateTimeOffset scheduledAt, JobSubmitOptions options, string? traceParent, JobId? rerunOf = null, JobId? batchId = null) => new()
    {
        Id = JobId.New(now),
        Type = descriptor.Name,
        Queue = options.Queue ?? descriptor.Options.Queue ?? runtime.DefaultQueue,
        Priority = options.Priority,
        Payload = payload,
        Status = JobStatus.Pending,
        MaxAttempts = options.MaxAttempts ?? descriptor.Options.MaxAttempts ?? runtime.DefaultMaxAttempts,
        CreatedAt = now,
        ScheduledAt = scheduledAt,
        Title = options.Title,
        Tags = options.Tags,
        DependsOn = options.DependsOn,
        OnParentFailure = options.OnParentFailure,
        IdempotencyKey = options.IdempotencyKey,
        CacheResultFor = options.CacheResultFor,
        Timeout = options.Timeout ?? descriptor.Options.Timeout ?? runtime.DefaultTimeout,
        TraceParent = traceParent,
        RerunOf = rerunOf,
        Retry = options.Retry is { } retry ? JobRetryTiming.Of(retry) : null,
        BatchId = batchId,
    };
}
