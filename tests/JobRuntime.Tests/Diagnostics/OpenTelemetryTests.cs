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
            Assert.Equal(8, (await runtime.Manager.WaitForResultAsync<EchoResult>(id).WaitAsync(TimeSpan.FromMinutes(1))).Doubled);
        }

        Assert.True(meterProvider.ForceFlush());
        Assert.True(tracerProvider.ForceFlush());

        // Copies: other tests' runtimes, running meanwhile, export into the same lists.
        var exportedMetrics = metrics.ToArray().ToList();
        var exportedSpans = spans.ToArray().Where(s => s.DisplayName.EndsWith(" otel-echo", StringComparison.Ordinal)).ToList();

        Assert.Equal(1, SumFor(exportedMetrics, "jobruntime.jobs.submitted"));
        Assert.Equal(1, SumFor(exportedMetrics, "jobruntime.jobs.completed"));
        // One metric per meter instance: other tests' runtimes may have their own.
        var completed = exportedMetrics.Where(m => m.Name == "jobruntime.jobs.completed").ToList();
        Assert.NotEmpty(completed);
        Assert.All(completed, m => Assert.Equal(JobRuntimeTelemetry.Version, m.MeterVersion));

        var submit = Assert.Single(exportedSpans, s => s.DisplayName == "submit otel-echo");
        var run = Assert.Single(exportedSpans, s => s.DisplayName == "run otel-echo");
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
