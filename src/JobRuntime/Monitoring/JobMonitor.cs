using System.ComponentModel;

namespace JobRuntime;

/// <summary>
/// Raises job events on a captured <see cref="SynchronizationContext"/> (a WPF, WinForms or
/// Avalonia UI thread), the desktop analogue of Qt's queued signals, and keeps a count of active
/// (pending and running) jobs for a badge or busy indicator. Events are posted, never sent: the
/// runtime never waits for the UI.
/// </summary>
public sealed class JobMonitor : INotifyPropertyChanged, IAsyncDisposable
{
    private static readonly PropertyChangedEventArgs ActiveCountChanged = new(nameof(ActiveCount));
    private static readonly PropertyChangedEventArgs IsBusyChanged = new(nameof(IsBusy));

    private readonly IJobManager _manager;
    private readonly IProgressBroker _broker;
    private readonly SynchronizationContext? _context;
    private readonly HashSet<JobId> _active = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _pump;
    private int _activeCount;

    /// <summary>Creates a monitor that raises its events on <paramref name="context"/>.</summary>
    /// <param name="broker">The progress broker.</param>
    /// <param name="manager">The job manager, for the initial count.</param>
    /// <param name="context">
    /// Where events are raised; <see langword="null"/> for <see cref="SynchronizationContext.Current"/>
    /// at construction (create the monitor on the UI thread). Without either, events are raised on a
    /// thread-pool thread.
    /// </param>
    public JobMonitor(IProgressBroker broker, IJobManager manager, SynchronizationContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(manager);
        _broker = broker;
        _manager = manager;
        _context = context ?? SynchronizationContext.Current;
    }

    /// <summary>Raised for every job event (progress is the newest when the UI falls behind).</summary>
    public event EventHandler<JobEvent>? EventReceived;

    /// <summary>Raised for progress and stage changes.</summary>
    public event EventHandler<JobEvent>? ProgressChanged;

    /// <summary>Raised when a job reaches a terminal state.</summary>
    public event EventHandler<JobEvent>? JobFinished;

    /// <inheritdoc />
    public event PropertyChangedEventHandler? PropertyChanged;

    /// <summary>How many jobs are pending or running (as last posted to the context).</summary>
    public int ActiveCount => Volatile.Read(ref _activeCount);

    /// <summary>Whether any job is pending or running.</summary>
    public bool IsBusy => ActiveCount > 0;

    /// <summary>
    /// Starts listening: subscribes to every job's events, then counts the jobs already pending or
    /// running. Call once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the initial count.</param>
    /// <returns>A task that completes once the initial count is known.</returns>
    /// <exception cref="InvalidOperationException">The monitor was already started.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_pump is not null)
        {
            throw new InvalidOperationException("The monitor is already started.");
        }

        // Subscribe first and list second: events that arrive meanwhile wait in the subscription
        // (lifecycle events are never dropped) and are applied after the list, so none is lost.
        var subscription = _broker.SubscribeAll();
        try
        {
            var query = new JobQuery { Statuses = [JobStatus.Pending, JobStatus.Running], PageSize = JobQuery.MaxPageSize };
            while (true)
            {
                var page = await _manager.ListAsync(query, cancellationToken).ConfigureAwait(false);
                lock (_active)
                {
                    foreach (var job in page.Items)
                    {
                        _active.Add(job.Id);
                    }
                }

                if (page.NextCursor is not { } next)
                {
                    break;
                }

                query = query with { After = next };
            }
        }
        catch
        {
            subscription.Dispose();
            throw;
        }

        PostCount();
        _pump = Task.Run(() => PumpAsync(subscription));
    }

    /// <summary>Stops listening.</summary>
    /// <returns>A task that completes when the monitor has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_pump is not null)
        {
            try
            {
                await _pump.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }

    private async Task PumpAsync(JobEventSubscription subscription)
    {
        using (subscription)
        {
            await foreach (var jobEvent in subscription.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                bool countChanged;
                lock (_active)
                {
                    countChanged = jobEvent.Kind switch
                    {
                        JobEventKind.Submitted or JobEventKind.Started or JobEventKind.Retrying or JobEventKind.Requeued => _active.Add(jobEvent.JobId),
                        _ when jobEvent.IsTerminal => _active.Remove(jobEvent.JobId),
                        _ => false,
                    };
                }

                Post(jobEvent);
                if (countChanged)
                {
                    PostCount();
                }
            }
        }
    }

    private void Post(JobEvent jobEvent)
    {
        Raise(static s =>
        {
            var (monitor, e) = ((JobMonitor, JobEvent))s!;
            monitor.EventReceived?.Invoke(monitor, e);
            if (e.Kind is JobEventKind.Progress or JobEventKind.StageChanged)
            {
                monitor.ProgressChanged?.Invoke(monitor, e);
            }

            if (e.IsTerminal)
            {
                monitor.JobFinished?.Invoke(monitor, e);
            }
        }, (this, jobEvent));
    }

    private void PostCount()
    {
        Raise(static s =>
        {
            var monitor = (JobMonitor)s!;
            int count;
            lock (monitor._active)
            {
                count = monitor._active.Count;
            }

            var before = Interlocked.Exchange(ref monitor._activeCount, count);
            if (before != count)
            {
                monitor.PropertyChanged?.Invoke(monitor, ActiveCountChanged);
                if ((before > 0) != (count > 0))
                {
                    monitor.PropertyChanged?.Invoke(monitor, IsBusyChanged);
                }
            }
        }, this);
    }

    private void Raise(SendOrPostCallback callback, object state)
    {
        if (_context is not null)
        {
            _context.Post(callback, state);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(s => callback(s), state, preferLocal: false);
        }
    }
}
