using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using JobRuntime.Telemetry;
using JobRuntime.ThreadDumps;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace JobRuntime.Tests.Diagnostics;

public sealed class TelemetryTests
{
    [Fact]
    public async Task Meter_CountsOutcomesAndRecordsDurations()
    {
        await using var runtime = TestRuntime.Create(builder: b => b.Services.AddMetrics());
        var factory = runtime.Services.GetRequiredService<IMeterFactory>();
        using var submitted = new MetricCollector<long>(factory, JobRuntimeTelemetry.Name, "jobruntime.jobs.submitted");
        using var completed = new MetricCollector<long>(factory, JobRuntimeTelemetry.Name, "jobruntime.jobs.completed");
        using var failed = new MetricCollector<long>(factory, JobRuntimeTelemetry.Name, "jobruntime.jobs.failed");
        using var duration = new MetricCollector<double>(factory, JobRuntimeTelemetry.Name, "jobruntime.job.duration");
        using var queueWait = new MetricCollector<double>(factory, JobRuntimeTelemetry.Name, "jobruntime.job.queue_wait");

        var ok = await runtime.Manager.SubmitAsync(new EchoArgs(1));
        var bad = await runtime.Manager.SubmitAsync(new FailArgs("metrics", FailTimes: 9));
        await runtime.Manager.WaitForCompletionAsync(ok);
        await runtime.Manager.WaitForCompletionAsync(bad);

        Assert.Equal(2, submitted.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(1, completed.GetMeasurementSnapshot().EvaluateAsCounter());
        var failure = Assert.Single(failed.GetMeasurementSnapshot());
        Assert.Equal("flaky", failure.Tags["jobruntime.job.type"]);
        Assert.Equal(2, duration.GetMeasurementSnapshot().Count);
        Assert.Equal(2, queueWait.GetMeasurementSnapshot().Count);
        Assert.All(duration.GetMeasurementSnapshot(), m => Assert.True(m.Value >= 0));
    }

    [Fact]
    public async Task ActivitySource_OneActivityPerRun_LinkedToTheSubmitter()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var stoppedSignal = new SemaphoreSlim(0);
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is JobRuntimeTelemetry.Name or "test-submitter",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                stopped.Enqueue(a);
                stoppedSignal.Release();
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var submitterSource = new ActivitySource("test-submitter");
        await using var runtime = TestRuntime.Create();

        JobId id;
        ActivityTraceId submitterTrace;
        using (var submitter = submitterSource.StartActivity("submit"))
        {
            submitterTrace = submitter!.TraceId;
            id = await runtime.Manager.SubmitAsync(new EchoArgs(1));
        }

        await runtime.Manager.WaitForCompletionAsync(id);

        // The activity stops after the job's terminal event; each stop signals the semaphore.
        Activity? run;
        while ((run = stopped.FirstOrDefault(a => a.Source.Name == JobRuntimeTelemetry.Name && a.DisplayName.StartsWith("run ", StringComparison.Ordinal) && (string?)a.GetTagItem("jobruntime.job.id") == id.ToString())) is null)
        {
            await stoppedSignal.WaitAsync();
        }

        Assert.Equal("run echo", run.DisplayName);
        Assert.Equal(ActivityKind.Consumer, run.Kind);
        Assert.Equal(submitterTrace, Assert.Single(run.Links).Context.TraceId);

        // The submit has a span of its own under the submitter's; the run links to it, not to its parent.
        var submit = Assert.Single(stopped, a => a.DisplayName == "submit echo" && (string?)a.GetTagItem("jobruntime.job.id") == id.ToString());
        Assert.Equal(ActivityKind.Producer, submit.Kind);
        Assert.Equal(submitterTrace, submit.TraceId);
        Assert.Equal(id.ToString(), submit.GetTagItem("jobruntime.job.id"));
        Assert.Equal(submit.SpanId, run.Links.Single().Context.SpanId);
        Assert.Equal(JobRuntimeTelemetry.Version, run.Source.Version);
        Assert.Equal("Completed", run.GetTagItem("jobruntime.job.status"));
        Assert.Equal(ActivityStatusCode.Ok, run.Status);
    }

    [Fact]
    public async Task QueueGauges_ReadTheStore_DepthAndLagPerQueue_AndTheMeterHasAVersion()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var runtime = TestRuntime.Create(
            o =>
            {
                o.MaxConcurrency = 1;
                o.LeaseDuration = TimeSpan.FromHours(1);
                o.RecoveryInterval = TimeSpan.FromHours(1);
            },
            time,
            b => b.Services.AddMetrics());
        var factory = runtime.Services.GetRequiredService<IMeterFactory>();
        using var depth = new MetricCollector<double>(factory, JobRuntimeTelemetry.Name, "jobruntime.queue.depth");
        using var lag = new MetricCollector<double>(factory, JobRuntimeTelemetry.Name, "jobruntime.queue.lag");
        var metrics = runtime.Services.GetRequiredService<JobRuntimeMetrics>();

        var blocker = await runtime.Manager.SubmitAsync(new GateArgs("gauges"), new JobSubmitOptions { Queue = "busy" });
        await runtime.Gates.For("gauges").Started.Task.WaitAsync(TimeSpan.FromMinutes(1));
        await runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions { Queue = "busy" });
        await runtime.Manager.SubmitAsync(new EchoArgs(2), new JobSubmitOptions { Queue = "busy" });
        time.Advance(TimeSpan.FromSeconds(30));
        await metrics.RefreshQueuesAsync().WaitAsync(TimeSpan.FromMinutes(1));
        depth.RecordObservableInstruments();
        lag.RecordObservableInstruments();

        var busyDepth = Assert.Single(depth.GetMeasurementSnapshot(), m => (string?)m.Tags["jobruntime.queue"] == "busy");
        Assert.Equal(2, busyDepth.Value);
        Assert.Equal(30, Assert.Single(lag.GetMeasurementSnapshot(), m => (string?)m.Tags["jobruntime.queue"] == "busy").Value, 3);
        Assert.Equal(JobRuntimeTelemetry.Version, depth.Instrument!.Meter.Version);
        Assert.StartsWith("0.", JobRuntimeTelemetry.Version, StringComparison.Ordinal);

        runtime.Gates.For("gauges").Open.TrySetResult();
        await runtime.Manager.WaitForCompletionAsync(blocker).WaitAsync(TimeSpan.FromMinutes(1));
    }
}
