using System.Collections.Concurrent;
using System.Diagnostics;
using JobRuntime.Diagnostics;
using JobRuntime.Execution;
using JobRuntime.Handlers;
using JobRuntime.Progress;
using JobRuntime.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace JobRuntime.Management;

/// <summary>
/// The engine: claims ready jobs while slots are free, runs them on the executor, renews leases
/// and writes throttled progress for all running jobs from one loop, recovers expired leases,
/// and records every outcome through a fenced write.
/// </summary>
internal sealed class JobDispatcher : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan MaxStoreBackoff = TimeSpan.FromSeconds(5);

    private readonly IJobStore _store;
    private readonly JobExecutor _executor;
    private readonly IProgressBroker _broker;
    private readonly JobHandlerRegistry _registry;
    private readonly JobRuntimeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IServiceScopeFactory _scopes;
    private readonly JobRuntimeMetrics _metrics;
    private readonly IThreadDumpService _dumps;
    private readonly IReadOnlyCollection<string>? _queues;
    private readonly ConcurrentDictionary<JobId, JobRun> _runs = new();
    private int _activeRuns;
    private TaskCompletionSource? _runsDrained;

    // One logger per handler type, not one per attempt (a category name is built from the type each time).
    private readonly ConcurrentDictionary<Type, ILogger> _handlerLoggers = new();
    private readonly AsyncSignal _flush = new();
    private Exception? _lastCompletionError;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startGate = new();
    private Task? _claimLoop;
    private Task? _maintenanceLoop;
    private Task? _heartbeatLoop;
    private Task? _signalLoop;
    private int _renewAllRequested;
    private Task? _stopTask;
    private System.Runtime.InteropServices.PosixSignalRegistration? _sigquit;
    private TaskCompletionSource _maintenance = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public JobDispatcher(
        IJobStore store,
        JobExecutor executor,
        IProgressBroker broker,
        JobHandlerRegistry registry,
        IOptions<JobRuntimeOptions> options,
        TimeProvider time,
        IServiceScopeFactory scopes,
        JobRuntimeMetrics metrics,
        IThreadDumpService dumps,
        ILoggerFactory? loggerFactory = null)
    {
        _dumps = dumps;
        // Logging is optional: without AddLogging the runtime runs silently.
        loggerFactory ??= Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        _store = store;
        _executor = executor;
        _broker = broker;
        _registry = registry;
        _options = options.Value;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("JobRuntime");
        _scopes = scopes;
        _metrics = metrics;
        _queues = _options.Queues.Count > 0 ? [.. _options.Queues] : null;
        _executor.ItemAbandoned += item =>
        {
            Log.Abandoned(_logger, item.JobId, item.Name);
            _metrics.Abandoned(item.Name);
        };
    }

    public DateTimeOffset Now => _time.GetUtcNow();

    public double ProgressPercentStep => _options.ProgressPersistPercentStep;

    public ILogger Logger => _logger;

    /// <summary>Starts the loops once. Safe to call from many threads.</summary>
    public void EnsureStarted()
    {
        if (_claimLoop is not null)
        {
            return;
        }

        lock (_startGate)
        {
            if (_claimLoop is not null || _stopping.IsCancellationRequested)
            {
                return;
            }

            Log.RuntimeStarted(_logger, _options.WorkerName, _options.MaxConcurrency);
            if (_options.DumpOnSigquit && !OperatingSystem.IsWindows())
            {
                _sigquit = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGQUIT, OnSigquit);
            }

            _heartbeatLoop = Task.Run(HeartbeatLoopAsync);
            _maintenanceLoop = Task.Run(MaintenanceLoopAsync);
            _claimLoop = Task.Run(ClaimLoopAsync);
            if (_store is IJobStoreSignals signals)
            {
                _signalLoop = Task.Run(() => ListenAsync(signals));
            }
        }
    }

    /// <summary>Completes after the next maintenance pass (recovery and retention).</summary>
    internal Task WaitForMaintenanceAsync() => Volatile.Read(ref _maintenance).Task;

    /// <summary>Wakes the claim loop (a submit, a finished job, a freed slot).</summary>
    public void Wake() => _executor.SlotFreed.Set();

    public void RequestProgressFlush() => _flush.Set();

    public void Emit(JobEvent jobEvent) => _broker.Publish(jobEvent);

    /// <summary>The live progress of a job running in this process, fresher than the stored one.</summary>
    public JobProgress? LiveProgress(JobId id) => _runs.TryGetValue(id, out var run) ? run.Progress : null;

    /// <summary>Trips the token of a job running in this process.</summary>
    public bool StopLocal(JobId id, JobStopReason reason) => _executor.TryStop(id, reason);

    /// <summary>Reacts to a store's signal: new work wakes the claim loop; a cancellation stops the job if it runs here.</summary>
    private void OnStoreSignal(JobStoreSignal signal)
    {
        switch (signal.Kind)
        {
            case JobStoreSignalKind.JobsAvailable:
                Wake();
                break;
            case JobStoreSignalKind.Resync:
                Wake();
                Interlocked.Exchange(ref _renewAllRequested, 1);
                RequestProgressFlush();
                break;
            case JobStoreSignalKind.CancelRequested when signal.JobId is { } id && _runs.ContainsKey(id):
                if (StopLocal(id, JobStopReason.Cancelled))
                {
                    Emit(new JobEvent(id, JobEventKind.CancellationRequested, JobStatus.Running, Now));
                }

                break;
            case JobStoreSignalKind.Progress when signal.JobId is { } id && signal.Progress is { } progress && !_runs.ContainsKey(id) && IsWatched(id):
                // A job running on another node: relay its progress to this node's watchers.
                Emit(new JobEvent(id, JobEventKind.Progress, JobStatus.Running, Now) { Progress = progress });
                break;
            case JobStoreSignalKind.StatusChanged when signal.JobId is { } id && !_runs.ContainsKey(id) && IsWatched(id):
                _ = RelayStatusAsync(id);
                break;
        }
    }

    private bool IsWatched(JobId id) => _broker is not ProgressBroker local || local.IsWatched(id);

    /// <summary>A watched job started or ended on another node: publish its state from the stored row.</summary>
    private async Task RelayStatusAsync(JobId id)
    {
        try
        {
            if (await _store.GetAsync(id, _stopping.Token).ConfigureAwait(false) is { } job && job.Status != JobStatus.Pending)
            {
                var kind = job.IsTerminal ? JobEvent.KindFor(job.Status) : JobEventKind.Started;
                Emit(new JobEvent(job.Id, kind, job.Status, Now) { JobType = job.Type, Attempt = job.Attempt, Progress = job.Progress, Error = job.Error });
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A hint only: watchers also poll the store.
            Log.StoreError(_logger, ex, "relay another node's job state", TimeSpan.Zero);
        }
    }

    private async Task ListenAsync(IJobStoreSignals signals)
    {
        try
        {
            await signals.ListenAsync(OnStoreSignal, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Signals are hints: without them the runtime still polls and renews leases.
            Log.StoreError(_logger, ex, "listen for store signals", TimeSpan.Zero);
        }
    }

    /// <summary>Publishes the terminal events of dependents cancelled by a write.</summary>
    public void EmitCancelledDependents(IReadOnlyList<JobId> ids)
    {
        if (ids.Count == 0)
        {
            return;
        }

        _metrics.CancelledWhilePending(ids.Count);
        foreach (var id in ids)
        {
            Emit(new JobEvent(id, JobEventKind.Cancelled, JobStatus.Cancelled, Now) { Error = new JobError("DependencyFailed", "A parent job did not complete.") });
        }
    }

    /// <summary>
    /// Stops claiming, waits for running jobs up to the shutdown timeout (or until
    /// <paramref name="cancellationToken"/>), then stops the rest; their state is recorded so that a
    /// durable store runs them again.
    /// </summary>
    public Task StopAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        lock (_startGate)
        {
            return _stopTask ??= StopCoreAsync(wait, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Disposal does not wait out ShutdownTimeout (the hosted service's StopAsync does that):
        // it stops running jobs at once, bounded by the grace period, so it never hangs.
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _stopping.Dispose();
        _flush.Dispose();
    }

    public void Dispose()
    {
        // Synchronous disposal does not wait for running jobs: it stops them at once, bounded by the grace period.
        StopAsync(TimeSpan.Zero).GetAwaiter().GetResult();
        _flush.Dispose();
    }

    private void OnSigquit(System.Runtime.InteropServices.PosixSignalContext context)
    {
        // Keep the process alive (the JVM's behaviour) and print the dump off the signal thread.
        context.Cancel = true;
        _ = Task.Run(async () =>
        {
            try
            {
                var dump = await _dumps.CaptureAsync(null, "SIGQUIT").ConfigureAwait(false);
                await Console.Error.WriteLineAsync(dump.ToText()).ConfigureAwait(false);
                await Console.Error.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException)
            {
                Log.ProviderUnavailable(_logger, "all", ex.Message);
            }
        });
    }

    private async Task StopCoreAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        _sigquit?.Dispose();
        Log.RuntimeStopping(_logger, _runs.Count);
        await _stopping.CancelAsync().ConfigureAwait(false);
        Wake();
        RequestProgressFlush();
        await IgnoreCancellation(_claimLoop).ConfigureAwait(false);
        await IgnoreCancellation(_maintenanceLoop).ConfigureAwait(false);

        var running = RunsDrained();
        if (!running.IsCompleted && wait > TimeSpan.Zero)
        {
            try
            {
                await running.WaitAsync(wait, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Shutdown timeout reached: stop the rest below.
            }
        }

        await _executor.StopAllAsync(JobStopReason.Shutdown).ConfigureAwait(false);
        await running.ConfigureAwait(false);
        await IgnoreCancellation(_heartbeatLoop).ConfigureAwait(false);
        await IgnoreCancellation(_signalLoop).ConfigureAwait(false);
        if (_store is IJobStoreLeadership leadership)
        {
            try
            {
                // Let another node take the maintenance over at once rather than after the TTL.
                await leadership.ResignAsync(_options.WorkerName, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.StoreError(_logger, ex, "resign the maintenance leadership", TimeSpan.Zero);
            }
        }
    }

    private static async Task IgnoreCancellation(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ClaimLoopAsync()
    {
        var token = _stopping.Token;
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            DateTimeOffset? nextDue = null;
            try
            {
                var free = _executor.AvailableSlots;
                if (free > 0)
                {
                    var request = new ClaimRequest(_options.WorkerName, free, _options.LeaseDuration)
                    {
                        QueueLimits = _executor.QueueAvailability(),
                        Queues = _queues,
                    };
                    var claimed = await _store.ClaimAsync(request, token).ConfigureAwait(false);
                    foreach (var job in claimed.Jobs)
                    {
                        await StartAsync(job, token).ConfigureAwait(false);
                    }

                    failures = 0;
                    if (claimed.Jobs.Count == free)
                    {
                        continue;
                    }

                    nextDue = claimed.NextDueAt;
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var delay = Backoff(++failures);
                Log.StoreError(_logger, ex, "claim", delay);
                await IgnoreCancellation(Task.Delay(delay, _time, token)).ConfigureAwait(false);
                continue;
            }

            // Jittered (80–100 % of the interval) so that nodes started together do not poll in step.
            var wait = _options.PollInterval * (1 - (0.2 * Random.Shared.NextDouble()));
            if (nextDue is { } due && due - Now < wait)
            {
                wait = due - Now;
            }

            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await _executor.SlotFreed.WaitAsync(wait, _time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Recovery and retention, every <see cref="JobRuntimeOptions.RecoveryInterval"/>, in a loop of
    /// their own: the claim loop never waits for them (a leader row locked by another session, a
    /// slow recovery) — leadership must never block claiming.
    /// </summary>
    private async Task MaintenanceLoopAsync()
    {
        var token = _stopping.Token;
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            try
            {
                // On a shared store that elects a leader, only the leader does the maintenance.
                if (_store is not IJobStoreLeadership leadership
                    || await leadership.TryLeadAsync(_options.WorkerName, LeadershipTtl, token).ConfigureAwait(false))
                {
                    if (await RecoverAsync(token).ConfigureAwait(false))
                    {
                        // Recovered jobs may be ready now.
                        Wake();
                    }

                    if (_options.RetainFinishedJobs is { } retain)
                    {
                        await _store.CleanupAsync(Now - retain, token).ConfigureAwait(false);
                    }
                }

                failures = 0;
                Interlocked.Exchange(ref _maintenance, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var delay = Backoff(++failures);
                Log.StoreError(_logger, ex, "recover expired leases", delay);
                await IgnoreCancellation(Task.Delay(delay, _time, token)).ConfigureAwait(false);
                continue;
            }

            await IgnoreCancellation(Task.Delay(_options.RecoveryInterval, _time, token)).ConfigureAwait(false);
        }
    }

    /// <summary>A leader that stops renewing (a dead node) is replaced after three missed maintenance passes.</summary>
    private TimeSpan LeadershipTtl => _options.RecoveryInterval * 3;

    /// <summary>Recovers expired leases; whether any job changed.</summary>
    private async Task<bool> RecoverAsync(CancellationToken token)
    {
        var result = await _store.RecoverAsync(job => RetryDelay(job.Attempt), token).ConfigureAwait(false);
        if (result.Recovered.Count == 0 && result.CancelledDependents.Count == 0)
        {
            return false;
        }

        Log.Recovered(_logger, result.Recovered.Count);
        foreach (var job in result.Recovered)
        {
            if (job.IsTerminal)
            {
                _metrics.Ended(job.Type, job.Status, TimeSpan.Zero);
                Emit(new JobEvent(job.Id, JobEvent.KindFor(job.Status), job.Status, Now) { JobType = job.Type, Attempt = job.Attempt, Error = job.Error });
            }
            else
            {
                _metrics.Requeued(job.Type, retry: true);
                Emit(new JobEvent(job.Id, JobEventKind.Retrying, job.Status, Now) { JobType = job.Type, Attempt = job.Attempt, Error = job.Error });
            }
        }

        EmitCancelledDependents(result.CancelledDependents);
        return true;
    }

    private async ValueTask StartAsync(ClaimedJob claimed, CancellationToken token)
    {
        var job = claimed.Job;
        if (!_executor.TryAcquire(job.Queue))
        {
            // Another user of the executor took the slot between the count and the claim: hand the job back.
            await _store.CompleteAsync(claimed.Lease, JobCompletion.Release(), token).ConfigureAwait(false);
            return;
        }

        var run = new JobRun(this, claimed, _registry.TryGet(job.Type, out var descriptor) ? descriptor : null, Now);
        _runs[job.Id] = run;

        // Counted rather than collected: shutdown waits for the count to reach zero (see RunsDrained).
        Interlocked.Increment(ref _activeRuns);
        var handedOver = false;
        try
        {
            _metrics.Started(job.Type, Now - (job.ScheduledAt > job.CreatedAt ? job.ScheduledAt : job.CreatedAt));
            Log.Started(_logger, job.Id, job.Type, job.Attempt);
            run.Activity = StartActivity(job);
            Emit(new JobEvent(job.Id, JobEventKind.Started, JobStatus.Running, Now) { JobType = job.Type, Attempt = job.Attempt, Progress = job.Progress });

            // The outcome comes back through OnRunFinished, on the thread that ran the job. If the
            // executor refuses the run, it has released the slots itself.
            handedOver = true;
            _executor.StartAcquired(run, CancellationToken.None);
        }
        catch (Exception ex)
        {
            if (!handedOver)
            {
                _executor.ReleaseSlots(job.Queue);
            }

            OnRunFinished(run, new JobExecutionResult(JobExecutionStatus.Faulted) { Exception = ex, StartedAt = Now });
        }
    }

    /// <summary>Completes when no run is left (runs are not started once shutdown began).</summary>
    private Task RunsDrained()
    {
        var drained = Volatile.Read(ref _runsDrained)
            ?? Interlocked.CompareExchange(ref _runsDrained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null)
            ?? _runsDrained;
        if (Volatile.Read(ref _activeRuns) == 0)
        {
            drained.TrySetResult();
        }

        return drained.Task;
    }

    /// <summary>
    /// A run's work ended (or was abandoned): writes its outcome, then reports it. Called once per run
    /// on the thread that finished the work, right after its slot was freed; a store that answers at
    /// once (in memory) costs no further thread hop or task.
    /// </summary>
    internal void OnRunFinished(JobRun run, JobExecutionResult result)
    {
        var settled = true;
        try
        {
            run.Ended = true;
            var completion = ToCompletion(run, result);
            ValueTask<JobWriteResult> write;
            try
            {
                write = _store.CompleteAsync(run.Lease, completion, CancellationToken.None);
            }
            catch (Exception ex)
            {
                write = ValueTask.FromException<JobWriteResult>(ex);
            }

            if (write.IsCompletedSuccessfully)
            {
                Recorded(run, completion, result, write.Result);
            }
            else
            {
                settled = false;
                _ = FinishWriteAsync(run, completion, result, write);
            }
        }
        catch (Exception ex)
        {
            Log.CompletionLost(_logger, ex, run.Job.Id);
        }
        finally
        {
            if (settled)
            {
                EndRun(run);
            }
        }
    }

    private async Task FinishWriteAsync(JobRun run, JobCompletion completion, JobExecutionResult result, ValueTask<JobWriteResult> write)
    {
        try
        {
            Recorded(run, completion, result, await CompleteAsync(run, completion, write).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            Log.CompletionLost(_logger, ex, run.Job.Id);
        }
        finally
        {
            EndRun(run);
        }
    }

    /// <summary>The outcome's write ended (<paramref name="write"/> is <see langword="null"/> when it never landed).</summary>
    private void Recorded(JobRun run, JobCompletion completion, JobExecutionResult result, JobWriteResult? write)
    {
        if (write?.Accepted == true)
        {
            Report(run, completion, result, run.Activity);
            EmitCancelledDependents(write.CancelledDependents);
        }
        else if (write is not null)
        {
            Log.LeaseLost(_logger, run.Job.Id);
        }
    }

    /// <summary>The run is over, its outcome written or given up on: it leaves the heartbeat's renewals and the shutdown count.</summary>
    private void EndRun(JobRun run)
    {
        _runs.TryRemove(run.Job.Id, out _);
        run.Activity?.Dispose();
        Wake();
        if (Interlocked.Decrement(ref _activeRuns) == 0)
        {
            Volatile.Read(ref _runsDrained)?.TrySetResult();
        }
    }

    internal async ValueTask<object?> InvokeAsync(JobRun run, JobHandlerDescriptor? descriptor, CancellationToken token)
    {
        var job = run.Job;
        if (descriptor is null)
        {
            throw new UnknownJobTypeException(job.Type, _registry.Names);
        }

        IReadOnlyList<JobSnapshot> parents = [];
        if (job.DependsOn.Count > 0)
        {
            var found = new List<JobSnapshot>(job.DependsOn.Count);
            foreach (var parentId in job.DependsOn)
            {
                if (await _store.GetAsync(parentId, token).ConfigureAwait(false) is { } parent)
                {
                    found.Add(parent);
                }
            }

            parents = found;
        }

        var scope = _scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            // TryGetValue first: the method group would be a new delegate on every call.
            if (!_handlerLoggers.TryGetValue(descriptor.HandlerType, out var logger))
            {
                logger = _handlerLoggers.GetOrAdd(descriptor.HandlerType, _loggerFactory.CreateLogger);
            }

            // The scope's state is built only when something logs at all.
            using var logScope = logger.IsEnabled(LogLevel.Critical)
                ? logger.BeginScope(new KeyValuePair<string, object>[] { new("JobId", job.Id), new("JobType", job.Type), new("Attempt", job.Attempt) })
                : null;
            var context = new JobContext(job, token, logger, scope.ServiceProvider, parents, run, _options.SerializerOptions);
            return await descriptor.InvokeAsync(scope.ServiceProvider, job.Payload, context, _options.SerializerOptions).ConfigureAwait(false);
        }
    }

    /// <summary>At a job's deadline: capture where it is before its token trips, log a summary line, keep the dump for the job's record.</summary>
    internal async Task CaptureTimeoutDumpAsync(JobRun run, CancellationToken cancellationToken)
    {
        var job = run.Job;
        var dump = await _dumps.CaptureAsync(job.Id, "timeout", cancellationToken).ConfigureAwait(false);
        run.TimeoutDump = dump;
        // A line, not the dump: a whole dump (7–10 KB) per timeout swamps a log; the job keeps it.
        Log.TimeoutDump(_logger, job.Id, job.Type, job.Timeout, dump.Summary);
        Emit(new JobEvent(job.Id, JobEventKind.Warning, JobStatus.Running, Now)
        {
            JobType = job.Type,
            Attempt = job.Attempt,
            Name = "timeout",
            Error = new JobError("Timeout", dump.Summary),
            Data = dump,
        });
    }

    /// <summary>A running job made no progress for the stall timeout: warn with a dump; the job keeps running.</summary>
    private async Task ReportStallAsync(JobRun run, TimeSpan silent)
    {
        var job = run.Job;
        try
        {
            var dump = await _dumps.CaptureAsync(job.Id, "stall", CancellationToken.None).ConfigureAwait(false);
            Log.Stalled(_logger, job.Id, job.Type, silent, dump.ToText());
            Emit(new JobEvent(job.Id, JobEventKind.Warning, JobStatus.Running, Now)
            {
                JobType = job.Type,
                Attempt = job.Attempt,
                Name = "stall",
                Error = new JobError("Stall", $"No progress for {silent}. {dump.Summary}"),
                Data = dump,
            });
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            Log.ProviderUnavailable(_logger, "all", ex.Message);
        }
    }

    private JobCompletion ToCompletion(JobRun run, JobExecutionResult result)
    {
        var job = run.Job;
        var progress = run.Progress;
        switch (result.Status)
        {
            case JobExecutionStatus.Succeeded:
                return JobCompletion.Completed((string)result.Value!, run.Artifacts, progress);
            case JobExecutionStatus.Cancelled:
                return JobCompletion.Ended(JobStatus.Cancelled, new JobError("Cancelled", "The job was cancelled while it ran.", result.Exception?.ToString()), run.Artifacts, progress);
            case JobExecutionStatus.TimedOut:
                var dump = run.TimeoutDump;
                var message = $"The job ran longer than its timeout of {job.Timeout}" + (result.Abandoned ? " and ignored cancellation for the grace period; it was abandoned." : ".")
                    + (dump is null ? "" : $" {dump.Summary}");
                var artifacts = dump is null ? run.Artifacts : [.. run.Artifacts, ThreadDumpJson.ToArtifact(dump)];
                return JobCompletion.Ended(JobStatus.TimedOut, new JobError("Timeout", message, dump?.ToText() ?? result.Exception?.ToString()), artifacts, progress);
            case JobExecutionStatus.Shutdown:
                return JobCompletion.Release();
            default:
                var error = JobError.FromException(result.Exception!);
                var retryable = result.Exception is not (JobPayloadException or UnknownJobTypeException);
                if (retryable && job.Attempt < job.MaxAttempts && !run.LeaseLost)
                {
                    return JobCompletion.Retry(error, Now + RetryDelay(job.Attempt), progress);
                }

                return JobCompletion.Ended(JobStatus.Failed, error, run.Artifacts, progress);
        }
    }

    private async ValueTask<JobWriteResult?> CompleteAsync(JobRun run, JobCompletion completion, ValueTask<JobWriteResult> first)
    {
        // Store errors are retried with back-off (bounded); if the write never lands, the lease
        // expires and recovery retries or fails the job, so nothing is silently lost.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return attempt == 1
                    ? await first.ConfigureAwait(false)
                    : await _store.CompleteAsync(run.Lease, completion, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < 5)
            {
                var delay = Backoff(attempt);

                // A batching store fails every write of a batch with one exception: log it once.
                if (!ReferenceEquals(Interlocked.Exchange(ref _lastCompletionError, ex), ex))
                {
                    Log.StoreError(_logger, ex, "complete", delay);
                }

                await Task.Delay(delay, _time).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.CompletionLost(_logger, ex, run.Job.Id);
                return null;
            }
        }
    }

    private void Report(JobRun run, JobCompletion completion, JobExecutionResult result, Activity? activity)
    {
        var job = run.Job;
        var now = Now;
        switch (completion.Kind)
        {
            case JobCompletionKind.Retry:
                Log.Retrying(_logger, result.Exception, job.Id, job.Type, job.Attempt, job.MaxAttempts, completion.RetryAt!.Value);
                _metrics.Requeued(job.Type, retry: true);
                Emit(new JobEvent(job.Id, JobEventKind.Retrying, JobStatus.Pending, now) { JobType = job.Type, Attempt = job.Attempt, Error = completion.Error });
                activity?.SetStatus(ActivityStatusCode.Error, completion.Error?.Message);
                return;
            case JobCompletionKind.Release:
                Log.Requeued(_logger, job.Id);
                _metrics.Requeued(job.Type, retry: false);
                Emit(new JobEvent(job.Id, JobEventKind.Requeued, JobStatus.Pending, now) { JobType = job.Type, Attempt = job.Attempt });
                return;
        }

        var status = completion.ResultingStatus;
        switch (status)
        {
            case JobStatus.Completed:
                Log.Completed(_logger, job.Id, job.Type, result.Duration.TotalMilliseconds);
                activity?.SetStatus(ActivityStatusCode.Ok);
                break;
            case JobStatus.Failed:
                Log.Failed(_logger, result.Exception, job.Id, job.Type, job.Attempt, job.MaxAttempts);
                activity?.SetStatus(ActivityStatusCode.Error, completion.Error?.Message);
                break;
            case JobStatus.Cancelled:
                Log.Cancelled(_logger, job.Id, job.Type);
                break;
            default:
                Log.TimedOut(_logger, job.Id, job.Type, job.Timeout, result.Abandoned ? " (abandoned)" : "");
                activity?.SetStatus(ActivityStatusCode.Error, "timed out");
                break;
        }

        _metrics.Ended(job.Type, status, result.Duration);
        activity?.SetTag("jobruntime.job.status", status.ToString());
        Emit(new JobEvent(job.Id, JobEvent.KindFor(status), status, now)
        {
            JobType = job.Type,
            Attempt = job.Attempt,
            Progress = completion.Progress,
            Error = completion.Error,
        });
    }

    private async Task HeartbeatLoopAsync()
    {
        var token = _stopping.Token;
        var renewEvery = _options.LeaseDuration / 3;
        var tick = renewEvery < _options.ProgressPersistInterval ? renewEvery : _options.ProgressPersistInterval;
        if (_options.StallTimeout is { } stall && stall / 2 < tick)
        {
            tick = stall / 2;
        }

        while (!token.IsCancellationRequested || !_runs.IsEmpty)
        {
            // After a store signal channel was lost, renew every lease now: the answers carry any
            // cancellation requested while no one listened.
            var renewAll = Interlocked.Exchange(ref _renewAllRequested, 0) == 1;
            foreach (var run in _runs.Values)
            {
                // A run that ended but whose outcome is still being written keeps its lease renewed:
                // its slot is already free, and a store slower than the lease (a backlog of
                // outcomes) must not let recovery fail a job that finished. Its progress is final
                // and goes with the outcome.
                var ended = run.Ended;
                var now = Now;
                if (!ended && _options.StallTimeout is { } stallAfter && !run.StallReported && now - run.LastActivity >= stallAfter)
                {
                    run.StallReported = true;
                    _ = ReportStallAsync(run, now - run.LastActivity);
                }

                var progress = ended ? null : run.TakeProgressToPersist(now, _options.ProgressPersistInterval, _options.ProgressPersistPercentStep);
                if (progress is null && !renewAll && now - run.LastRenewal < renewEvery)
                {
                    continue;
                }

                try
                {
                    var state = await _store.RenewAsync(run.Lease, now + _options.LeaseDuration, progress, CancellationToken.None).ConfigureAwait(false);
                    run.LastRenewal = now;
                    if (state == LeaseState.CancellationRequested && !ended)
                    {
                        _executor.TryStop(run.Job.Id, JobStopReason.Cancelled);
                    }
                    else if (state == LeaseState.Lost && !run.Ended)
                    {
                        run.LeaseLost = true;
                        Log.LeaseLost(_logger, run.Job.Id);
                        _executor.TryStop(run.Job.Id, JobStopReason.Cancelled);
                    }
                }
                catch (Exception ex)
                {
                    Log.StoreError(_logger, ex, "renew", tick);
                }
            }

            if (token.IsCancellationRequested && _runs.IsEmpty)
            {
                break;
            }

            await _flush.WaitAsync(tick, _time, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private Activity? StartActivity(JobSnapshot job)
    {
        if (!JobRuntimeMetrics.ActivitySource.HasListeners())
        {
            return null;
        }

        ActivityLink[]? links = null;
        if (job.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, out var submitter))
        {
            links = [new ActivityLink(submitter)];
        }

        var activity = JobRuntimeMetrics.ActivitySource.StartActivity($"run {job.Type}", ActivityKind.Consumer, parentContext: default, links: links);
        activity?.SetTag("jobruntime.job.id", job.Id.ToString());
        activity?.SetTag("jobruntime.job.type", job.Type);
        activity?.SetTag("jobruntime.job.queue", job.Queue);
        activity?.SetTag("jobruntime.job.attempt", job.Attempt);
        return activity;
    }

    internal TimeSpan RetryDelay(int attempt)
    {
        var baseDelay = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempt - 1));
        var capped = Math.Min(baseDelay, _options.RetryMaxDelay.TotalMilliseconds);
        var jitter = _options.RetryJitter * ((2 * Random.Shared.NextDouble()) - 1);
        return TimeSpan.FromMilliseconds(Math.Max(0, capped * (1 + jitter)));
    }

    private static TimeSpan Backoff(int failures)
        => TimeSpan.FromMilliseconds(Math.Min(MaxStoreBackoff.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(failures, 10))));
}
