namespace JobRuntime.ThreadDumps;

/// <summary>A running job as the runtime's registry knows it.</summary>
public sealed record RunningJobInfo
{
    /// <summary>The job's id.</summary>
    public required JobId JobId { get; init; }

    /// <summary>The job's type or task name.</summary>
    public required string Name { get; init; }

    /// <summary>The managed id of the thread the job started on (dedicated threads keep it throughout).</summary>
    public int ManagedThreadId { get; init; }

    /// <summary>The OS id of that thread (gettid), or 0 when unknown.</summary>
    public long OsThreadId { get; init; }

    /// <summary>That thread's name.</summary>
    public string? ThreadName { get; init; }

    /// <summary>When the job started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Its deadline, if it has a timeout.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Whether the deadline has passed.</summary>
    public bool IsOverdue { get; init; }

    /// <summary>Whether the job runs on a dedicated thread.</summary>
    public bool DedicatedThread { get; init; }

    /// <summary>The task of the job's handler while it is suspended at an await; the root of its async call chain.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Task? RootTask { get; init; }
}
