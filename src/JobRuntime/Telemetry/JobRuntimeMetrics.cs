using System.Diagnostics;
using System.Diagnostics.Metrics;
using JobRuntime.Storage;

namespace JobRuntime.Telemetry;

/// <summary>The instruments, created once per runtime from <see cref="IMeterFactory"/> when available.</summary>
internal sealed class JobRuntimeMetrics : IDisposable
{
    internal static readonly ActivitySource ActivitySource = new(JobRuntimeTelemetry.Name, JobRuntimeTelemetry.Version);

    /// <summary>How old the store's queue counts may be before a collection asks for fresh ones.</summary>
    private static readonly TimeSpan QueueStatisticsMaxAge = TimeSpan.FromSeconds(5);

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _submitted;
    private readonly Counter<long> _started;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _cancelled;
    private readonly Counter<long> _timedOut;
    private readonly Counter<long> _retried;
    private readonly Counter<long> _abandoned;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _duration;
    private readonly IJobStoreStatistics? _statistics;
    private readonly TimeProvider _time;
    private QueueSnapshot _queues = new([], DateTimeOffset.MinValue);
    private int _refreshing;

    public JobRuntimeMetrics(IMeterFactory? meterFactory, Func<int> running, IJobStoreStatistics? statistics = null, TimeProvider? time = null)
    {
        _ownsMeter = meterFactory is null;
        _statistics = statistics;
        _time = time ?? TimeProvider.System;
        var options = new MeterOptions(JobRuntimeTelemetry.Name) { Version = JobRuntimeTelemetry.Version };
        _meter = meterFactory?.Create(options) ?? new Meter(options);
        _submitted = _meter.CreateCounter<long>("jobruntime.jobs.submitted", "{job}", "Jobs submitted.");
        _started = _meter.CreateCounter<long>("jobruntime.jobs.started", "{attempt}", "Attempts started.");
        _completed = _meter.CreateCounter<long>("jobruntime.jobs.completed", "{job}", "Jobs completed.");
        _failed = _meter.CreateCounter<long>("jobruntime.jobs.failed", "{job}", "Jobs failed for good.");
        _cancelled = _meter.CreateCounter<long>("jobruntime.jobs.cancelled", "{job}", "Jobs cancelled.");
        _timedOut = _meter.CreateCounter<long>("jobruntime.jobs.timed_out", "{job}", "Jobs timed out.");
        _retried = _meter.CreateCounter<long>("jobruntime.jobs.retried", "{attempt}", "Failed attempts that will be retried.");
        _abandoned = _meter.CreateCounter<long>("jobruntime.jobs.abandoned", "{job}", "Jobs abandoned after ignoring cancellation past the grace period.");
        _queueWait = _meter.CreateHistogram<double>("jobruntime.job.queue_wait", "s", "Time from a job's run time to the start of its attempt.");
        _duration = _meter.CreateHistogram<double>("jobruntime.job.duration", "s", "Run time of an attempt.");
        _meter.CreateObservableGauge("jobruntime.jobs.running", running, "{job}", "Jobs running in this process.");
        if (statistics is not null)
        {
            _meter.CreateObservableGauge("jobruntime.queue.depth", () => QueueMeasurements(q => q.Ready), "{job}", "Ready jobs per queue (run time come, parents completed), read from the store: the same on every node.");
            _meter.CreateObservableGauge("jobruntime.queue.lag", () => QueueMeasurements(q => q.OldestReadySince is { } since ? Math.Max(0, (Volatile.Read(ref _queues).AsOf - since).TotalSeconds) : 0), "s", "How long the oldest ready job of each queue has waited, read from the store.");
        }
    }

    public void Submitted(string type) => _submitted.Add(1, Tag(type));

    /// <summary>Whether anyone listens to the started count or the queue wait (else the caller need not measure the wait).</summary>
    public bool StartedListened => _started.Enabled || _queueWait.Enabled;

    public void Started(string type, TimeSpan queueWait)
    {
        _started.Add(1, Tag(type));
        _queueWait.Record(Math.Max(0, queueWait.TotalSeconds), Tag(type));
    }

    public void Requeued(string type, bool retry)
    {
        if (retry)
        {
            _retried.Add(1, Tag(type));
        }
    }

    public void CancelledWhilePending(int count) => _cancelled.Add(count);

    public void Ended(string type, JobStatus status, TimeSpan duration)
    {
        var counter = status switch
        {
            JobStatus.Completed => _completed,
            JobStatus.Failed => _failed,
            JobStatus.Cancelled => _cancelled,
            _ => _timedOut,
        };
        counter.Add(1, Tag(type));
        if (_duration.Enabled)
        {
            _duration.Record(duration.TotalSeconds, Tag(type), new KeyValuePair<string, object?>("jobruntime.job.status", StatusName(status)));
        }
    }

    /// <summary>A status's name without boxing it (<c>ToString()</c> on an enum boxes).</summary>
    private static string StatusName(JobStatus status) => status switch
    {
        JobStatus.Pending => nameof(JobStatus.Pending),
        JobStatus.Running => nameof(JobStatus.Running),
        JobStatus.Completed => nameof(JobStatus.Completed),
        JobStatus.Failed => nameof(JobStatus.Failed),
        JobStatus.Cancelled => nameof(JobStatus.Cancelled),
        JobStatus.TimedOut => nameof(JobStatus.TimedOut),
        _ => status.ToString(),
    };

    public void Abandoned(string type) => _abandoned.Add(1, Tag(type));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static KeyValuePair<string, object?> Tag(string type) => new("jobruntime.job.type", type);

    /// <summary>
    /// The store's last queue counts, one measurement per queue. A collection never waits for the
    /// store: counts older than <see cref="QueueStatisticsMaxAge"/> are refreshed in the background
    /// for the next collection (exporters collect every few seconds or minutes).
    /// </summary>
    private IEnumerable<Measurement<double>> QueueMeasurements(Func<JobQueueStatistics, double> value)
    {
        var snapshot = Volatile.Read(ref _queues);
        if (_time.GetUtcNow() - snapshot.AsOf >= QueueStatisticsMaxAge && Interlocked.Exchange(ref _refreshing, 1) == 0)
        {
            _ = RefreshQueuesAsync();
        }

        foreach (var queue in snapshot.Queues)
        {
            yield return new Measurement<double>(value(queue), new KeyValuePair<string, object?>("jobruntime.queue", queue.Queue));
        }
    }

    /// <summary>Reads the counts now (the first collection, and tests, wait for it).</summary>
    internal async Task RefreshQueuesAsync()
    {
        try
        {
            var asOf = _time.GetUtcNow();
            var queues = await _statistics!.GetQueueStatisticsAsync(CancellationToken.None).ConfigureAwait(false);
            Volatile.Write(ref _queues, new QueueSnapshot(queues, asOf));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The health check reports a failing store; the gauges keep their last counts.
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    /// <summary>The store's queue counts and when they were read.</summary>
    private sealed record QueueSnapshot(IReadOnlyList<JobQueueStatistics> Queues, DateTimeOffset AsOf);
}
