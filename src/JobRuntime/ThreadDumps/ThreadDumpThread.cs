namespace JobRuntime.ThreadDumps;

/// <summary>One thread in a <see cref="ThreadDump"/>.</summary>
public sealed record ThreadDumpThread
{
    /// <summary>The managed thread id, when known.</summary>
    public int ManagedThreadId { get; init; }

    /// <summary>The operating system's thread id, when known.</summary>
    public long OsThreadId { get; init; }

    /// <summary>The thread's name, if it has one.</summary>
    public string? Name { get; init; }

    /// <summary>The job the thread runs, if it runs one.</summary>
    public JobId? JobId { get; init; }

    /// <summary>Whether this is the thread of the job the dump is about.</summary>
    public bool IsJobThread { get; init; }

    /// <summary>The stack, innermost frame first, as far as the provider could see it.</summary>
    public IReadOnlyList<string> Frames { get; init; } = [];
}
