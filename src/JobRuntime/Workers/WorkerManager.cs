using System.Collections.Concurrent;
using JobRuntime.ThreadDumps;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobRuntime;

/// <summary>
/// Runs ad-hoc tasks without a store: a name, a delegate, an optional timeout and callbacks.
/// Submit returns at once; every task ends in a <see cref="WorkerResult{T}"/>. Tasks share the
/// runtime's executor (its concurrency limit) and watchdog: at a timeout a thread dump is captured
/// before the task's token trips, and a task that ignores its token is abandoned after the grace
/// period so that its slot frees up.
/// </summary>
public sealed class WorkerManager : IAsyncDisposable, IDisposable
{
    private readonly IJobExecutor _executor;
    private readonly IThreadDumpService _dumps;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<JobId, Task> _active = new();

    /// <summary>Creates a manager on the runtime's executor. Resolve it from DI rather than constructing it.</summary>
    /// <param name="executor">The executor whose slots and watchdog the tasks use.</param>
    /// <param name="dumps">Captures thread dumps at timeouts.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="loggerFactory">Logging; optional.</param>
    public WorkerManager(IJobExecutor executor, IThreadDumpService dumps, TimeProvider timeProvider, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(executor);
        ArgumentNullException.ThrowIfNull(dumps);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _executor = executor;
        _dumps = dumps;
        _time = timeProvider;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("JobRuntime.Workers");
    }

    /// <summary>Raised on a thread-pool thread when a task starts running.</summary>
    public event EventHandler<WorkerEventArgs>? Started;

    /// <summary>Raised when a task returned a value.</summary>
    public event EventHandler<WorkerEventArgs>? Completed;

    /// <summary>Raised when a task threw or was cancelled.</summary>
    public event EventHandler<WorkerEventArgs>? Error;

    /// <summary>Raised when a task ran past its timeout (with the dump taken at the deadline).</summary>
    public event EventHandler<WorkerEventArgs>? TimedOut;

    /// <summary>Tasks submitted and not yet ended (pending or running).</summary>
    public int ActiveCount => _active.Count;

    /// <summary>
    /// Submits a task and returns at once. The task waits for a free slot, then runs on the thread
    /// pool with a token that trips on <see cref="WorkerTask{T}.Cancel"/>, its timeout or shutdown.
    /// </summary>
    /// <typeparam name="T">The task's value type.</typeparam>
    /// <param name="name">A name for logs, events and thread dumps.</param>
    /// <param name="work">The work.</param>
    /// <param name="timeout">The time limit; <see langword="null"/> for none.</param>
    /// <param name="onComplete">Called with the result when the task succeeds.</param>
    /// <param name="onError">Called with the result when the task fails, times out or is cancelled.</param>
    /// <returns>The submitted task.</returns>
    /// <exception cref="InvalidOperationException">The manager was shut down.</exception>
    public WorkerTask<T> Submit<T>(string name, Func<CancellationToken, Task<T>> work, TimeSpan? timeout = null, Action<WorkerResult<T>>? onComplete = null, Action<WorkerResult<T>>? onError = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(work);
        if (timeout is { } limit && limit <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive.");
        }

        if (_shutdown.IsCancellationRequested)
        {
            throw new InvalidOperationException("The worker manager was shut down; it takes no new tasks.");
        }

        var id = JobId.New(_time.GetUtcNow());
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        var completion = RunAsync(id, name, work, timeout, onComplete, onError, cancel);
        _active[id] = completion;
        _ = completion.ContinueWith(_ => _active.TryRemove(id, out Task? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new WorkerTask<T>(id, name, completion, cancel);
    }

    /// <summary>
    /// Stops taking tasks, cancels pending ones (they never run) and trips running ones' tokens;
    /// with <paramref name="wait"/>, waits for them up to <paramref name="timeout"/>. Never hangs:
    /// tasks that ignore their token are abandoned by the executor after its grace period.
    /// </summary>
    /// <param name="wait">Whether to wait for the tasks to end.</param>
    /// <param name="timeout">The longest wait; <see langword="null"/> for 30 seconds.</param>
    /// <returns><see langword="true"/> when every task ended within the wait.</returns>
    public async Task<bool> ShutdownAsync(bool wait = true, TimeSpan? timeout = null)
    {
        // Pending tasks first, so that none takes a slot freed by a stopping one.
        await _shutdown.CancelAsync().ConfigureAwait(false);
        foreach (var id in _active.Keys)
        {
            _executor.TryStop(id, JobStopReason.Shutdown);
        }

        var tasks = _active.Values.ToArray();
        if (!wait || tasks.Length == 0)
        {
            return tasks.All(t => t.IsCompleted);
        }

        try
        {
            await Task.WhenAll(tasks).WaitAsync(timeout ?? TimeSpan.FromSeconds(30), _time).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Shuts down without waiting longer than the executor's grace period for each task.</summary>
    /// <returns>A task that completes when shut down.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_shutdown.IsCancellationRequested && _active.IsEmpty)
        {
            return;
        }

        await ShutdownAsync(wait: true).ConfigureAwait(false);
    }

    /// <summary>Shuts down synchronously, waiting at most 30 seconds (tasks that ignore their token are abandoned sooner).</summary>
    public void Dispose()
    {
        ShutdownAsync(wait: true).GetAwaiter().GetResult();
        _shutdown.Dispose();
    }

    private async Task<WorkerResult<T>> RunAsync<T>(JobId id, string name, Func<CancellationToken, Task<T>> work, TimeSpan? timeout, Action<WorkerResult<T>>? onComplete, Action<WorkerResult<T>>? onError, CancellationTokenSource cancel)
    {
        ThreadDump? dump = null;
        var request = new JobExecutionRequest(id, name, async token =>
        {
            Raise(Started, new WorkerEventArgs(id, name));
            return await work(token).ConfigureAwait(false);
        })
        {
            Timeout = timeout,
            OnTimeout = async (jobId, token) =>
            {
                dump = await _dumps.CaptureAsync(jobId, "timeout", token).ConfigureAwait(false);
                Telemetry.Log.TimeoutDump(_logger, jobId, name, timeout, dump.ToText());
            },
        };

        WorkerResult<T> result;
        try
        {
            var outcome = await _executor.ExecuteAsync(request, cancel.Token).ConfigureAwait(false);
            if (outcome.Abandoned)
            {
                Telemetry.Log.Abandoned(_logger, id, name);
            }

            result = ToResult<T>(id, name, outcome, dump);
        }
        catch (OperationCanceledException ex)
        {
            // Cancelled (or shut down) while waiting for a slot: it never ran.
            result = new WorkerResult<T> { Id = id, Name = name, Cancelled = true, Error = ex };
        }
        catch (Exception ex)
        {
            result = new WorkerResult<T> { Id = id, Name = name, Error = ex, StackTrace = ex.StackTrace };
        }
        finally
        {
            cancel.Dispose();
        }

        var args = new WorkerEventArgs(id, name, result.Error, result.ThreadDump, result.Duration);
        if (result.Success)
        {
            Raise(Completed, args);
            Call(onComplete, result);
        }
        else
        {
            Raise(result.TimedOut ? TimedOut : Error, args);
            Call(onError, result);
        }

        return result;
    }

    private static WorkerResult<T> ToResult<T>(JobId id, string name, JobExecutionResult outcome, ThreadDump? dump) => outcome.Status switch
    {
        JobExecutionStatus.Succeeded => new WorkerResult<T> { Id = id, Name = name, Success = true, Value = (T?)outcome.Value, Duration = outcome.Duration },
        JobExecutionStatus.TimedOut => new WorkerResult<T>
        {
            Id = id,
            Name = name,
            TimedOut = true,
            Error = outcome.Exception ?? new TimeoutException($"'{name}' ran past its timeout."),
            StackTrace = dump?.ToText(),
            ThreadDump = dump,
            Duration = outcome.Duration,
        },
        JobExecutionStatus.Cancelled or JobExecutionStatus.Shutdown => new WorkerResult<T> { Id = id, Name = name, Cancelled = true, Error = outcome.Exception, Duration = outcome.Duration },
        _ => new WorkerResult<T> { Id = id, Name = name, Error = outcome.Exception, StackTrace = outcome.Exception?.ToString(), Duration = outcome.Duration },
    };

    private void Raise(EventHandler<WorkerEventArgs>? handler, WorkerEventArgs args)
    {
        try
        {
            handler?.Invoke(this, args);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "A WorkerManager event handler threw for task {Name} ({Id})", args.Name, args.Id);
        }
    }

    private void Call<T>(Action<WorkerResult<T>>? callback, WorkerResult<T> result)
    {
        try
        {
            callback?.Invoke(result);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "A WorkerManager callback threw for task {Name} ({Id})", result.Name, result.Id);
        }
    }
}
