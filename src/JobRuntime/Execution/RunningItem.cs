namespace JobRuntime.Execution;

/// <summary>An item holding a slot: its token, why it was asked to stop, and its single outcome.</summary>
internal sealed class RunningItem
{
    private readonly CancellationTokenSource _cts = new();
    private readonly TaskCompletionSource<JobExecutionResult> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<RunningItem> _onFinished;
    private int _stopReason;

    public RunningItem(JobExecutionRequest request, DateTimeOffset startedAt, long startTimestamp, Action<RunningItem> onFinished)
    {
        Request = request;
        StartedAt = startedAt;
        StartTimestamp = startTimestamp;
        _onFinished = onFinished;
    }

    public JobExecutionRequest Request { get; }

    public DateTimeOffset StartedAt { get; }

    public long StartTimestamp { get; }

    public CancellationToken Token => _cts.Token;

    public JobStopReason StopReason => (JobStopReason)Volatile.Read(ref _stopReason);

    public Task<JobExecutionResult> Outcome => _outcome.Task;

    public bool IsFinished => _outcome.Task.IsCompleted;

    /// <summary>The managed thread the work started on (dedicated threads keep it throughout).</summary>
    public int ManagedThreadId { get; private set; }

    /// <summary>The OS id of that thread (gettid), or 0.</summary>
    public long OsThreadId { get; private set; }

    /// <summary>That thread's name.</summary>
    public string? ThreadName { get; private set; }

    /// <summary>The work's task while it is suspended: the root of its async call chain.</summary>
    public Task? RootTask { get; set; }

    /// <summary>The capture of the thread dump at the item's deadline, while it runs (abandonment waits for it).</summary>
    public Task? TimeoutCapture { get; set; }

    /// <summary>The deadline, if the item has a timeout.</summary>
    public DateTimeOffset? Deadline { get; set; }

    /// <summary>Records the thread the work starts on; called on that thread.</summary>
    public void RecordThread()
    {
        var thread = Thread.CurrentThread;
        ManagedThreadId = thread.ManagedThreadId;
        ThreadName = thread.Name;
        OsThreadId = Diagnostics.NativeThread.CurrentId();
    }

    /// <summary>Asks the work to stop. The first reason wins.</summary>
    public bool Stop(JobStopReason reason)
    {
        if (!Claim(reason))
        {
            return false;
        }

        Trip();
        return true;
    }

    /// <summary>Records why the work will stop, without tripping its token yet. The first reason wins.</summary>
    public bool Claim(JobStopReason reason)
        => Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)JobStopReason.None) == (int)JobStopReason.None && !IsFinished;

    /// <summary>Trips the work's token.</summary>
    public void Trip()
    {
        try
        {
            _cts.Cancel();
        }
        catch (AggregateException)
        {
            // A handler's cancellation callback threw; the token is tripped all the same and the
            // work's own outcome reports what went wrong.
        }
        catch (ObjectDisposedException)
        {
            // The work ended (and released its token) in the meantime.
        }
    }

    /// <summary>Records the outcome once; later calls (a late result after abandonment) are discarded.</summary>
    public bool TryFinish(JobExecutionResult result)
    {
        if (!_outcome.TrySetResult(result))
        {
            return false;
        }

        _onFinished(this);
        return true;
    }

    public JobExecutionStatus StatusForStop() => StopReason switch
    {
        JobStopReason.TimedOut => JobExecutionStatus.TimedOut,
        JobStopReason.Shutdown => JobExecutionStatus.Shutdown,
        _ => JobExecutionStatus.Cancelled,
    };

    public void DisposeToken() => _cts.Dispose();
}
