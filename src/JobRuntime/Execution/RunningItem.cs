namespace JobRuntime.Execution;

/// <summary>
/// An item holding a slot: its token, why it was asked to stop, and its single outcome. The
/// executor queues the item itself to the thread pool. A subclass supplies the work and may act on
/// the outcome in <see cref="OnFinished"/>, on the thread that finished the work, after the slot
/// was freed: the dispatcher's runs record their outcome there without another thread-pool hop
/// and without a task per run.
/// </summary>
internal abstract class RunningItem : IThreadPoolWorkItem
{
    private readonly CancellationTokenSource _cts = new();
    private JobExecutor? _executor;
    private JobExecutionResult? _result;
    private TaskCompletionSource<JobExecutionResult>? _outcome;
    private CancellationTokenRegistration _callerRegistration;
    private int _stopReason;

    /// <summary>The item's id (a job's id).</summary>
    public abstract JobId JobId { get; }

    /// <summary>A name for logs and thread dumps (a job's type).</summary>
    public abstract string Name { get; }

    /// <summary>The queue whose slot the item holds as well, if that queue is limited.</summary>
    public abstract string? Queue { get; }

    /// <summary>Whether the work runs on a thread of its own rather than the thread pool.</summary>
    public abstract bool DedicatedThread { get; }

    /// <summary>The time limit, if any.</summary>
    public abstract TimeSpan? Timeout { get; }

    /// <summary>Whether <see cref="CaptureAtTimeoutAsync"/> has anything to do at the deadline.</summary>
    public virtual bool CapturesAtTimeout => false;

    /// <summary>When the item started.</summary>
    public DateTimeOffset StartedAt { get; private set; }

    /// <summary>The timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the start, for the duration.</summary>
    public long StartTimestamp { get; private set; }

    public CancellationToken Token => _cts.Token;

    public JobStopReason StopReason => (JobStopReason)Volatile.Read(ref _stopReason);

    /// <summary>The outcome once the item finished, else <see langword="null"/>.</summary>
    public JobExecutionResult? Result => Volatile.Read(ref _result);

    public bool IsFinished => Result is not null;

    /// <summary>
    /// Completes with the outcome. Made on first use only (a caller of the public executor, a
    /// shutdown): the dispatcher's runs never need it.
    /// </summary>
    public Task<JobExecutionResult> Outcome
    {
        get
        {
            if (Result is { } done)
            {
                return Task.FromResult(done);
            }

            var outcome = Volatile.Read(ref _outcome)
                ?? Interlocked.CompareExchange(ref _outcome, new TaskCompletionSource<JobExecutionResult>(TaskCreationOptions.RunContinuationsAsynchronously), null)
                ?? _outcome;

            // The item may have finished between the check above and the source's publication.
            if (Result is { } finished)
            {
                outcome.TrySetResult(finished);
            }

            return outcome.Task;
        }
    }

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

    /// <summary>The work itself, given the item's token.</summary>
    public abstract ValueTask<object?> RunWorkAsync(CancellationToken cancellationToken);

    /// <summary>Runs at the deadline, before the token trips, when <see cref="CapturesAtTimeout"/> says so.</summary>
    public virtual Task CaptureAtTimeoutAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Binds the item to its executor as it starts.</summary>
    internal void Begin(JobExecutor executor, DateTimeOffset startedAt, long startTimestamp)
    {
        _executor = executor;
        StartedAt = startedAt;
        StartTimestamp = startTimestamp;
    }

    /// <summary>Stops the item with <see cref="JobStopReason.Cancelled"/> when the caller's token trips (until the item finishes).</summary>
    internal void LinkCallerToken(CancellationToken cancellationToken)
        => _callerRegistration = cancellationToken.UnsafeRegister(static s => ((RunningItem)s!).Stop(JobStopReason.Cancelled), this);

    void IThreadPoolWorkItem.Execute() => _ = JobExecutor.RunAsync(this);

    /// <summary>
    /// 0: not running synchronously on a pool thread; 1: running on one; 3: still running on it at
    /// one blocking scan; 2: holding it and compensated for (at the next scan, or when abandoned).
    /// </summary>
    private int _poolThread;

    /// <summary>The work starts running synchronously on a thread-pool thread (until its first real await).</summary>
    internal void EnterPoolThread() => Volatile.Write(ref _poolThread, 1);

    /// <summary>The work returned its thread-pool thread; a compensation made for it is withdrawn.</summary>
    internal void LeavePoolThread()
    {
        if (Interlocked.Exchange(ref _poolThread, 0) == 2)
        {
            _executor?.CompensatePoolThread(-1);
        }
    }

    /// <summary>Called when the item is abandoned: if its work still blocks the pool thread it started on, the pool gets one more.</summary>
    internal void CompensateIfHoldingPoolThread()
    {
        if (Interlocked.CompareExchange(ref _poolThread, 2, 1) == 1 || Interlocked.CompareExchange(ref _poolThread, 2, 3) == 3)
        {
            _executor?.CompensatePoolThread(+1);
        }
    }

    /// <summary>Called by each blocking scan: the first sees the item on its start thread, the second (one interval later) compensates it.</summary>
    internal void CompensateIfBlockingSinceLastScan()
    {
        if (Interlocked.CompareExchange(ref _poolThread, 2, 3) == 3)
        {
            _executor?.CompensatePoolThread(+1);
        }
        else
        {
            Interlocked.CompareExchange(ref _poolThread, 3, 1);
        }
    }

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

    /// <summary>
    /// Records the outcome once; later calls (a late result after abandonment) are discarded. The
    /// slot is freed before anyone sees the outcome, so that whoever reacts to it finds the slot free.
    /// </summary>
    public bool TryFinish(JobExecutionResult result)
    {
        if (Interlocked.CompareExchange(ref _result, result, null) is not null)
        {
            return false;
        }

        _callerRegistration.Unregister();
        _executor?.Release(this);
        Volatile.Read(ref _outcome)?.TrySetResult(result);
        OnFinished(result);
        return true;
    }

    /// <summary>
    /// Called once with the outcome, on the thread that finished the work (the watchdog's, for an
    /// abandoned item), after the slot was freed. Must not throw.
    /// </summary>
    protected virtual void OnFinished(JobExecutionResult result)
    {
    }

    public JobExecutionStatus StatusForStop() => StopReason switch
    {
        JobStopReason.TimedOut => JobExecutionStatus.TimedOut,
        JobStopReason.Shutdown => JobExecutionStatus.Shutdown,
        _ => JobExecutionStatus.Cancelled,
    };

    public void DisposeToken() => _cts.Dispose();
}

/// <summary>An item of the public <see cref="IJobExecutor.ExecuteAsync"/>: the work and its settings come from a request.</summary>
internal sealed class RequestItem(JobExecutionRequest request) : RunningItem
{
    public override JobId JobId => request.JobId;

    public override string Name => request.Name;

    public override string? Queue => request.Queue;

    public override bool DedicatedThread => request.DedicatedThread;

    public override TimeSpan? Timeout => request.Timeout;

    public override bool CapturesAtTimeout => request.OnTimeout is not null;

    public override ValueTask<object?> RunWorkAsync(CancellationToken cancellationToken) => request.Work(cancellationToken);

    public override Task CaptureAtTimeoutAsync(CancellationToken cancellationToken)
        => request.OnTimeout is { } onTimeout ? onTimeout(request.JobId, cancellationToken) : Task.CompletedTask;
}
