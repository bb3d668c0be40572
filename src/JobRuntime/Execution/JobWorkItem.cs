namespace JobRuntime;

/// <summary>
/// A unit of work that an <see cref="IJobExecutor"/> runs in one of its slots: the runtime's jobs
/// are work items, and so is every <see cref="IJobExecutor.ExecuteAsync"/> request. Derive from it
/// to run work through <see cref="IJobExecutor.TryStart"/> without a task per item; the executor
/// calls <see cref="RunAsync"/> once, <see cref="OnDeadlineAsync"/> at the deadline (when
/// <see cref="HasDeadlineAction"/>), and <see cref="OnFinished"/> exactly once with the outcome, after
/// the slot was freed. An instance runs once.
/// </summary>
public abstract class JobWorkItem : IThreadPoolWorkItem
{
    // Never disposed: it has no timer and is linked to no other token (a caller's token is linked by a
    // registration, removed when the item finishes), so disposing would only release a wait handle made if
    // someone asked for one, which its finalizer releases as well. Undisposed, the token stays readable for
    // a handler that kept its context past the attempt.
    private readonly CancellationTokenSource _cts = new();
    private JobExecutor? _executor;
    private JobExecutionResult? _result;
    private Rare? _rare;
    private RunThread? _thread;
    private long _startedAt;   // UTC ticks
    private int _stopReason;

    /// <summary>The item's id (a job's id); one item per id runs at a time.</summary>
    public abstract JobId JobId { get; }

    /// <summary>A name for logs and thread dumps (a job's type).</summary>
    public abstract string Name { get; }

    /// <summary>The queue whose concurrency limit applies as well, if that queue has one.</summary>
    public virtual string? Queue => null;

    /// <summary>Whether the work runs on a thread of its own rather than the thread pool (for CPU-bound work).</summary>
    public virtual bool DedicatedThread => false;

    /// <summary>The time limit; <see langword="null"/> for none.</summary>
    public virtual TimeSpan? Timeout => null;

    /// <summary>Whether <see cref="OnDeadlineAsync"/> has anything to do at the deadline.</summary>
    public virtual bool HasDeadlineAction => false;

    /// <summary>The work itself. Called once by the executor, never on the thread that started the item.</summary>
    /// <param name="cancellationToken">Trips when the item is stopped (cancelled, timed out, shut down).</param>
    /// <returns>The work's value.</returns>
    public abstract ValueTask<object?> RunAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs at the deadline, before the item's token trips, off the item's thread: capture
    /// diagnostics here (a thread dump shows where the work hung before it starts unwinding).
    /// </summary>
    /// <param name="cancellationToken">The capture's budget.</param>
    /// <returns>A task that completes when done; the token trips then.</returns>
    public virtual Task OnDeadlineAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Called once with the outcome, on the thread that finished the work (the watchdog's, for an
    /// abandoned item), after the slot was freed. Must not throw.
    /// </summary>
    /// <param name="result">How the work ended.</param>
    public virtual void OnFinished(JobExecutionResult result)
    {
    }

    /// <summary>When the item started.</summary>
    internal DateTimeOffset StartedAt => new(_startedAt, TimeSpan.Zero);

    /// <summary>The timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the start, for the duration.</summary>
    internal long StartTimestamp { get; private set; }

    internal CancellationToken Token => _cts.Token;

    internal JobStopReason StopReason => (JobStopReason)Volatile.Read(ref _stopReason);

    /// <summary>The outcome once the item finished, else <see langword="null"/>.</summary>
    internal JobExecutionResult? Result => Volatile.Read(ref _result);

    internal bool IsFinished => Result is not null;

    /// <summary>
    /// Completes with the outcome. Made on first use only (a caller of the public executor, a
    /// shutdown): the dispatcher's runs never need it.
    /// </summary>
    internal Task<JobExecutionResult> Outcome
    {
        get
        {
            if (Result is { } done)
            {
                return Task.FromResult(done);
            }

            var rare = GetRare();
            var outcome = Volatile.Read(ref rare.Outcome)
                ?? Interlocked.CompareExchange(ref rare.Outcome, new TaskCompletionSource<JobExecutionResult>(TaskCreationOptions.RunContinuationsAsynchronously), null)
                ?? rare.Outcome;

            // The item may have finished between the check above and the source's publication.
            if (Result is { } finished)
            {
                outcome.TrySetResult(finished);
            }

            return outcome.Task;
        }
    }

    /// <summary>The managed thread the work started on (dedicated threads keep it throughout).</summary>
    internal int ManagedThreadId => Volatile.Read(ref _thread)?.ManagedId ?? 0;

    /// <summary>The OS id of that thread (gettid), or 0.</summary>
    internal long OsThreadId => Volatile.Read(ref _thread)?.OsId ?? 0;

    /// <summary>That thread's name.</summary>
    internal string? ThreadName => Volatile.Read(ref _thread)?.Name;

    /// <summary>The work's task while it is suspended: the root of its async call chain.</summary>
    internal Task? RootTask { get; set; }

    /// <summary>The capture of the thread dump at the item's deadline, while it runs (abandonment waits for it).</summary>
    internal Task? TimeoutCapture { get => Volatile.Read(ref _rare)?.TimeoutCapture; set => GetRare().TimeoutCapture = value; }

    /// <summary>The deadline, if the item has a timeout.</summary>
    internal DateTimeOffset? Deadline
    {
        get => Volatile.Read(ref _rare) is { } rare && Volatile.Read(ref rare.Deadline) is var ticks and not 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
        set
        {
            if (value is not null || Volatile.Read(ref _rare) is not null)
            {
                Volatile.Write(ref GetRare().Deadline, value?.UtcTicks ?? 0);
            }
        }
    }

    /// <summary>Binds the item to its executor as it starts; <see langword="false"/> when it was started before.</summary>
    internal bool TryBind(JobExecutor executor, DateTimeOffset startedAt, long startTimestamp)
    {
        if (Interlocked.CompareExchange(ref _executor, executor, null) is not null)
        {
            return false;
        }

        _startedAt = startedAt.UtcTicks;
        StartTimestamp = startTimestamp;
        return true;
    }

    /// <summary>Stops the item with <see cref="JobStopReason.Cancelled"/> when the caller's token trips (until the item finishes).</summary>
    internal void LinkCallerToken(CancellationToken cancellationToken)
        => GetRare().CallerRegistration = cancellationToken.UnsafeRegister(static s => ((JobWorkItem)s!).Stop(JobStopReason.Cancelled), this);

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
    internal void RecordThread() => Volatile.Write(ref _thread, RunThread.Current);

    /// <summary>Asks the work to stop. The first reason wins.</summary>
    internal bool Stop(JobStopReason reason)
    {
        if (!TrySetStopReason(reason))
        {
            return false;
        }

        Trip();
        return true;
    }

    /// <summary>Records why the work will stop, without tripping its token yet. The first reason wins.</summary>
    internal bool TrySetStopReason(JobStopReason reason)
        => Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)JobStopReason.None) == (int)JobStopReason.None && !IsFinished;

    /// <summary>Trips the work's token.</summary>
    internal void Trip()
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
    }

    /// <summary>
    /// Records the outcome once; later calls (a late result after abandonment) are discarded. The
    /// slot is freed before anyone sees the outcome, so that whoever reacts to it finds the slot free.
    /// </summary>
    internal bool TryFinish(in RunOutcome outcome)
    {
        // The result object is the finished mark; an item that reads its outcome as a value keeps a shared mark.
        var result = KeepsResult ? outcome.ToResult() : Unkept;
        if (Interlocked.CompareExchange(ref _result, result, null) is not null)
        {
            return false;
        }

        Volatile.Read(ref _rare)?.CallerRegistration.Unregister();
        _executor?.FreeSlotsOf(this);
        if (Volatile.Read(ref _rare)?.Outcome is { } waiting)
        {
            waiting.TrySetResult(KeepsResult ? result : outcome.ToResult());
        }

        Finished(outcome);
        return true;
    }

    /// <summary>
    /// Whether the item keeps a <see cref="JobExecutionResult"/> of its outcome (for <see cref="OnFinished"/> and
    /// <see cref="Outcome"/>). The runtime's runs read the outcome as a value in <see cref="Finished"/> instead.
    /// </summary>
    private protected virtual bool KeepsResult => true;

    /// <summary>Called once with the outcome (see <see cref="OnFinished"/>); by default hands the kept result to it.</summary>
    private protected virtual void Finished(in RunOutcome outcome) => OnFinished(Volatile.Read(ref _result)!);

    /// <summary>The finished mark of an item that keeps no result; <see cref="Outcome"/> gives it once such an item finished (only shutdown asks).</summary>
    private static readonly JobExecutionResult Unkept = new(JobExecutionStatus.Succeeded);

    internal JobExecutionStatus StatusForStop() => StopReason switch
    {
        JobStopReason.TimedOut => JobExecutionStatus.TimedOut,
        JobStopReason.Shutdown => JobExecutionStatus.Shutdown,
        _ => JobExecutionStatus.Cancelled,
    };


    private Rare GetRare() => Volatile.Read(ref _rare) ?? Interlocked.CompareExchange(ref _rare, new Rare(), null) ?? _rare!;

    /// <summary>What few items need (a caller awaiting the outcome or linking a token, a deadline and its capture): one object made on first use.</summary>
    private sealed class Rare
    {
        public TaskCompletionSource<JobExecutionResult>? Outcome;
        public CancellationTokenRegistration CallerRegistration;
        public Task? TimeoutCapture;
        public long Deadline;   // UTC ticks; 0 for none
    }

    /// <summary>A thread as thread dumps name it, recorded once per thread (items share it instead of copying three fields each).</summary>
    private sealed class RunThread(int managedId, long osId, string? name)
    {
        [ThreadStatic]
        private static RunThread? t_current;

        public int ManagedId { get; } = managedId;

        public long OsId { get; } = osId;

        public string? Name { get; } = name;

        /// <summary>The current thread's record; made again if the thread was renamed since.</summary>
        public static RunThread Current
        {
            get
            {
                var thread = Thread.CurrentThread;
                var current = t_current;
                if (current is null || !ReferenceEquals(current.Name, thread.Name))
                {
                    current = t_current = new RunThread(thread.ManagedThreadId, NativeThread.CurrentId(), thread.Name);
                }

                return current;
            }
        }
    }
}

/// <summary>An item of the public <see cref="IJobExecutor.ExecuteAsync"/>: the work and its settings come from a request.</summary>
internal sealed class RequestItem(JobExecutionRequest request) : JobWorkItem
{
    public override JobId JobId => request.JobId;

    public override string Name => request.Name;

    public override string? Queue => request.Queue;

    public override bool DedicatedThread => request.DedicatedThread;

    public override TimeSpan? Timeout => request.Timeout;

    public override bool HasDeadlineAction => request.OnTimeout is not null;

    public override ValueTask<object?> RunAsync(CancellationToken cancellationToken) => request.Work(cancellationToken);

    public override Task OnDeadlineAsync(CancellationToken cancellationToken)
        => request.OnTimeout is { } onTimeout ? onTimeout(request.JobId, cancellationToken) : Task.CompletedTask;
}
