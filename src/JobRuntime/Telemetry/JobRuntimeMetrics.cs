using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace JobRuntime.Telemetry;

/// <summary>The instruments, created once per runtime from <see cref="IMeterFactory"/> when available.</summary>
internal sealed class JobRuntimeMetrics : IDisposable
{
    internal static readonly ActivitySource ActivitySource = new(JobRuntimeTelemetry.Name);

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
    private long _queued;

    public JobRuntimeMetrics(IMeterFactory? meterFactory, Func<int> running)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(JobRuntimeTelemetry.Name) ?? new Meter(JobRuntimeTelemetry.Name);
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
        _meter.CreateObservableGauge("jobruntime.jobs.queued", () => Math.Max(0, Interlocked.Read(ref _queued)), "{job}", "Jobs this process submitted, retried or released that have not started or been cancelled.");
    }

    public void Submitted(string type)
    {
        Interlocked.Increment(ref _queued);
        _submitted.Add(1, Tag(type));
    }

    public void Started(string type, TimeSpan queueWait)
    {
        Interlocked.Decrement(ref _queued);
        _started.Add(1, Tag(type));
        _queueWait.Record(Math.Max(0, queueWait.TotalSeconds), Tag(type));
    }

    public void Requeued(string type, bool retry)
    {
        Interlocked.Increment(ref _queued);
        if (retry)
        {
            _retried.Add(1, Tag(type));
        }
    }

    public void CancelledWhilePending(int count)
    {
        Interlocked.Add(ref _queued, -count);
        _cancelled.Add(count);
    }

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
        _duration.Record(duration.TotalSeconds, Tag(type), new KeyValuePair<string, object?>("jobruntime.job.status", status.ToString()));
    }

    public void Abandoned(string type) => _abandoned.Add(1, Tag(type));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static KeyValuePair<string, object?> Tag(string type) => new("jobruntime.job.type", type);
}
