using JobRuntime.Storage;
using JobRuntime.Telemetry;
using JobRuntime.ThreadDumps;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace JobRuntime.Engine;

/// <summary>
/// The coordinator: builds the engine's parts, starts their loops once, and stops them in order —
/// no more claims, running jobs drained (or stopped and handed back), leadership resigned. The
/// manager calls it to wake the claim loop and to reach jobs running here. See docs/ARCHITECTURE.md.
/// </summary>
internal sealed class JobEngine : IAsyncDisposable, IDisposable
{
    private readonly IJobExecutor _executor;
    private readonly JobRuntimeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RunningJobs _runs = new();
    private readonly HangReporter _hangs;
    private readonly LeaseKeeper _leases;
    private readonly ClaimLoop _claims;
    private readonly Maintenance _maintenance;
    private readonly StoreSignalRelay? _relay;
    private readonly Scheduler? _scheduler;
    private Task? _scheduleLoop;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Action _wakeClaims;
    private Task? _claimLoop;
    private Task? _maintenanceLoop;
    private Task? _leaseLoop;
    private Task? _signalLoop;
    private Task? _stopTask;

    public JobEngine(
        IJobStore store,
        IJobExecutor executor,
        IProgressBroker broker,
        JobHandlerRegistry registry,
        IOptions<JobRuntimeOptions> options,
        TimeProvider time,
        IServiceScopeFactory scopes,
        JobRuntimeMetrics metrics,
        IThreadDumpService dumps,
        ILoggerFactory? loggerFactory = null,
        IJobStoreSignals? signals = null,
        IJobStoreLeadership? leadership = null,
        IJobStoreSchedules? schedules = null,
        IServiceProvider? services = null,
        JobMiddlewareTypes? middleware = null)
    {
        // Logging is optional: without AddLogging the runtime runs silently.
        loggerFactory ??= Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        _executor = executor;
        _options = options.Value;
        _time = time;
        _logger = loggerFactory.CreateLogger("JobRuntime");
        Notifier = new LifecycleNotifier(broker, metrics, _logger, time, new FinalFailureHooks(registry, scopes, _logger));
        Lifecycle = new JobLifecycle(_options, time);
        _hangs = new HangReporter(dumps, Notifier, _logger);
        _leases = new LeaseKeeper(store, executor, _runs, _hangs, Notifier, _options, time, _logger);
        var invoker = new HandlerInvoker(store, registry, loggerFactory, Notifier, _options, middleware?.Types ?? []);

        // The claim loop is built after the parts a run needs; the recorder and the maintenance wake it through this.
        ClaimLoop? claims = null;
        _wakeClaims = () => claims?.Wake();
        var recorder = new OutcomeRecorder(store, Lifecycle, Notifier, _runs, _wakeClaims, time, _logger);
        var parts = new RunParts(invoker, _hangs, recorder, Notifier, _leases, time, _options, scopes);
        _claims = claims = new ClaimLoop(store, executor, _runs, registry, parts, _options, time, _logger);
        _maintenance = new Maintenance(store, leadership, Lifecycle, Notifier, _wakeClaims, _options, time, _logger);
        if (signals is not null)
        {
            _relay = new StoreSignalRelay(signals, store, executor, broker, _runs, _leases, Notifier, _wakeClaims, _logger);
        }

        if (schedules is not null)
        {
            // The recurring jobs registered in code are stored first (RecurringJobs depends on the engine: resolved when the loop starts).
            _scheduler = new Scheduler(
                schedules,
                store,
                registry,
                Notifier,
                _wakeClaims,
                token => services?.GetService<RecurringJobs>()?.ApplyRegistrationsAsync(token) ?? Task.CompletedTask,
                _options,
                time,
                _logger);
        }

        // A slot freed by anything that shares the executor (the ad-hoc WorkerManager too) may let a job run.
        _executor.SlotFreed += _wakeClaims;
    }

    /// <summary>Every transition's event, log line, metric and trace; the manager announces submits and cancellations through it.</summary>
    public LifecycleNotifier Notifier { get; }

    /// <summary>The mapping of outcomes to completions, and the retry delay.</summary>
    public JobLifecycle Lifecycle { get; }

    /// <summary>Starts the loops once. Safe to call from many threads.</summary>
    public void EnsureStarted()
    {
        if (_claimLoop is not null)
        {
            return;
        }

        lock (_gate)
        {
            if (_claimLoop is not null || _stopping.IsCancellationRequested)
            {
                return;
            }

            Log.RuntimeStarted(_logger, _options.WorkerName, _options.MaxConcurrency);
            if (_options.DumpOnSigquit)
            {
                _hangs.ListenForSigquit();
            }

            StartLoops(_stopping.Token);
        }
    }

    /// <summary>
    /// Starts the loops (once, under the gate). A method of its own: the lambdas' closure is then made
    /// only here, not on every call of <see cref="EnsureStarted"/> (every submit calls it).
    /// </summary>
    private void StartLoops(CancellationToken stopping)
    {
        _leaseLoop = Task.Run(() => _leases.RunAsync(stopping));
        _maintenanceLoop = Task.Run(() => _maintenance.RunAsync(stopping));
        _claimLoop = Task.Run(() => _claims.RunAsync(stopping));
        if (_relay is not null)
        {
            _signalLoop = Task.Run(() => _relay.RunAsync(stopping));
        }

        if (_scheduler is not null)
        {
            _scheduleLoop = Task.Run(() => _scheduler.RunAsync(stopping));
        }
    }

    /// <summary>Claims now (a submit, a cancelled job's dependents).</summary>
    public void Wake() => _claims.Wake();

    /// <summary>
    /// After a submit: claims on this thread when the store is in memory and nothing runs; otherwise wakes the
    /// claim loop. (After a claim here the loop has nothing to do: an idle runtime had no other ready job, and a
    /// job submitted meanwhile wakes it by its own submit.)
    /// </summary>
    public void Submitted()
    {
        if (!_claims.TryClaimHere(_stopping.Token))
        {
            _claims.Wake();
        }
    }

    /// <summary>Looks at the recurring jobs now (one was added, changed or resumed).</summary>
    public void WakeScheduler() => _scheduler?.Wake();

    /// <summary>The part that fires recurring jobs, when the store keeps them (tests).</summary>
    internal Scheduler? Scheduler => _scheduler;

    /// <summary>Completes after the next maintenance pass (recovery and retention).</summary>
    internal Task WaitForMaintenanceAsync() => _maintenance.WaitForPassAsync();

    /// <summary>Wakes the lease keeper (tests on a fake clock).</summary>
    internal void RequestLeaseKeeping() => _leases.RequestFlush();

    /// <summary>The live progress of a job running in this process, fresher than the stored one.</summary>
    public JobProgress? LiveProgress(JobId id) => _runs.TryGet(id, out var run) ? run.Progress : null;

    /// <summary>Trips the token of a job running in this process.</summary>
    public bool StopLocal(JobId id) => _executor.TryStop(id, JobStopReason.Cancelled);

    /// <summary>
    /// Stops claiming, waits for running jobs up to <paramref name="wait"/> (or until
    /// <paramref name="cancellationToken"/>), then stops the rest; their state is recorded so that a
    /// durable store runs them again.
    /// </summary>
    public Task StopAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return _stopTask ??= StopCoreAsync(wait, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Disposal does not wait out ShutdownTimeout (the hosted service's StopAsync does that):
        // it stops running jobs at once, bounded by the grace period, so it never hangs.
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        DisposeParts();
    }

    public void Dispose()
    {
        StopAsync(TimeSpan.Zero).GetAwaiter().GetResult();
        DisposeParts();
    }

    private void DisposeParts()
    {
        _executor.SlotFreed -= _wakeClaims;
        _stopping.Dispose();
        _leases.Dispose();
        _claims.Dispose();
        _scheduler?.Dispose();
        _hangs.Dispose();
    }

    private async Task StopCoreAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        _hangs.Dispose();
        Log.RuntimeStopping(_logger, _runs.Count);
        await _stopping.CancelAsync().ConfigureAwait(false);
        Wake();
        _leases.RequestFlush();
        await Backoff.IgnoreCancellation(_claimLoop).ConfigureAwait(false);
        _scheduler?.Wake();
        await Backoff.IgnoreCancellation(_scheduleLoop).ConfigureAwait(false);
        await Backoff.IgnoreCancellation(_maintenanceLoop).ConfigureAwait(false);

        var drained = _runs.Drained();
        if (!drained.IsCompleted && wait > TimeSpan.Zero)
        {
            try
            {
                await drained.WaitAsync(wait, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Shutdown timeout reached: stop the rest below.
            }
        }

        await _executor.StopAllAsync(JobStopReason.Shutdown).ConfigureAwait(false);
        await drained.ConfigureAwait(false);

        // The lease keeper ends once no run is left; wake it now rather than at its next tick (on
        // a clock that does not move, such as a test's, that tick never comes).
        _leases.RequestFlush();
        await Backoff.IgnoreCancellation(_leaseLoop).ConfigureAwait(false);
        await Backoff.IgnoreCancellation(_signalLoop).ConfigureAwait(false);
        await _maintenance.ResignAsync().ConfigureAwait(false);
    }
}
