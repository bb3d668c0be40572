using System.Diagnostics;
using JobRuntime.Tests.TestSupport;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace JobRuntime.Tests.Diagnostics;

/// <summary><c>AddJobRuntimeInstrumentation()</c> on OpenTelemetry's builders, exported with its in-memory exporter.</summary>
public sealed class OpenTelemetryTests
{
    [Fact]
    public async Task AddJobRuntimeInstrumentation_ExportsTheRuntimesMetricsAndLinkedSpans()
    {
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        using var meterProvider = Sdk.CreateMeterProviderBuilder().AddJobRuntimeInstrumentation().AddInMemoryExporter(metrics).Build();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddJobRuntimeInstrumentation().AddInMemoryExporter(spans).Build();

        // A job type of this test's own: other tests' runtimes emit to the same meter name meanwhile.
        JobId id;
        await using (var runtime = TestRuntime.Create(builder: b => b.AddHandler<EchoHandler>("otel-echo")))
        {
            id = await runtime.Manager.SubmitAsync("otel-echo", new EchoArgs(4));
            Assert.Equal(8, (await runtime.Manager.WaitForResultAsync<EchoResult>(id)).Doubled);
        }

        Assert.True(meterProvider.ForceFlush());
        Assert.True(tracerProvider.ForceFlush());

        Assert.Equal(1, SumFor(metrics, "jobruntime.jobs.submitted"));
        Assert.Equal(1, SumFor(metrics, "jobruntime.jobs.completed"));
        var meter = Assert.Single(metrics, m => m.Name == "jobruntime.jobs.completed");
        Assert.Equal(JobRuntimeTelemetry.Version, meter.MeterVersion);

        var submit = Assert.Single(spans, s => s.DisplayName == "submit otel-echo");
        var run = Assert.Single(spans, s => s.DisplayName == "run otel-echo");
        Assert.Equal(id.ToString(), run.GetTagItem("jobruntime.job.id"));
        Assert.Equal(submit.SpanId, Assert.Single(run.Links).Context.SpanId);
        Assert.Equal(ActivityStatusCode.Ok, run.Status);
    }

    private static long SumFor(List<Metric> metrics, string name)
    {
        long sum = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                foreach (var tag in point.Tags)
                {
                    if (tag.Key == "jobruntime.job.type" && (string?)tag.Value == "otel-echo")
                    {
                        sum += point.GetSumLong();
                    }
                }
            }
        }

        return sum;
    }
}
