using JobRuntime.ThreadDumps;

namespace JobRuntime;

/// <summary>What a <see cref="WorkerManager"/> event reports.</summary>
public sealed class WorkerEventArgs : EventArgs
{
    internal WorkerEventArgs(JobId id, string name, Exception? error = null, ThreadDump? threadDump = null, TimeSpan duration = default)
    {
        Id = id;
        Name = name;
        Error = error;
        ThreadDump = threadDump;
        Duration = duration;
    }

    /// <summary>The task's id.</summary>
    public JobId Id { get; }

    /// <summary>The task's name.</summary>
    public string Name { get; }

    /// <summary>The exception, for <see cref="WorkerManager.Error"/> and <see cref="WorkerManager.TimedOut"/>.</summary>
    public Exception? Error { get; }

    /// <summary>The dump captured at the deadline, for <see cref="WorkerManager.TimedOut"/>.</summary>
    public ThreadDump? ThreadDump { get; }

    /// <summary>How long the task ran, once it ended.</summary>
    public TimeSpan Duration { get; }
}
