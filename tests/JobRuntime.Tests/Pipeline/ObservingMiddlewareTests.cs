using System.Diagnostics;
using System.Diagnostics.Metrics;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace JobRuntime.Tests.Pipeline;

/// <summary>
/// What the runtime does around every attempt — a log scope, a trace span, a duration metric by outcome —
/// written as an application's middleware: the pipeline can express them.
/// </summary>
public sealed class ObservingMiddlewareTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private const string Name = "Tests.ObservingMiddleware";

    private static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("attempt.duration", "s");

    public sealed record WorkArgs(bool Fail);

    /// <summary>Logs through the attempt's logger; reports the span it runs in.</summary>
    public sealed class WorkHandler : IJobHandler<WorkArgs, string>
    {
        public ValueTask<string> ExecuteAsync(WorkArgs args, JobContext context)
        {
            context.Logger.LogInformation("working");
            return args.Fail ? throw new InvalidOperationException("no") : ValueTask.FromResult(Activity.Current?.OperationName ?? "none");
        }
    }

    public sealed class ObservingMiddleware(ILogger<ObservingMiddleware> logger) : IJobMiddleware
    {
        public async ValueTask<object?> InvokeAsync(JobContext context, JobExecutionDelegate next)
        {
            using var scope = logger.BeginScope(new Dictionary<string, object> { ["Tenant"] = "acme", ["JobId"] = context.JobId.ToString() });
            using var span = Source.StartActivity($"attempt {context.JobType}");
            span?.SetTag("attempt", context.Attempt);
            var clock = Stopwatch.StartNew();
            var outcome = "error";
            try
            {
                var result = await next(context);
                outcome = "ok";
                return result;
            }
            finally
            {
                Duration.Record(clock.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("type", context.JobType));
            }
        }
    }

    [Fact]
    public async Task AMiddleware_GivesEveryAttemptALogScope_ASpan_AndADurationByOutcome()
    {
        using var spans = new ActivityListener
        {
            ShouldListenTo = s => s.Name == Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(spans);
        var outcomes = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var meters = new MeterListener { InstrumentPublished = (i, l) => { if (i.Meter.Name == Name) l.EnableMeasurementEvents(i); } };
        meters.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome")
                {
                    outcomes.Enqueue((string)tag.Value!);
                }
            }
        });
        meters.Start();
        await using var runtime = TestRuntime.Create(builder: b =>
        {
            b.Services.AddLogging(l => l.AddFakeLogging());
            b.AddHandler<WorkHandler>("work").UseMiddleware<ObservingMiddleware>();
        });

        var ok = await runtime.Manager.SubmitAsync(new WorkArgs(Fail: false));
        var failed = await runtime.Manager.SubmitAsync(new WorkArgs(Fail: true), new JobSubmitOptions { MaxAttempts = 1 });

        // The handler ran inside the middleware's span.
        Assert.Equal("attempt work", await runtime.Manager.WaitForResultAsync<string>(ok).WaitAsync(Guard));
        Assert.Equal(JobStatus.Failed, (await runtime.Manager.WaitForCompletionAsync(failed).WaitAsync(Guard)).Status);

        // The handler's own log lines carry the middleware's scope.
        var lines = runtime.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Message == "working").ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, line => Assert.Contains(line.Scopes, s => s is IEnumerable<KeyValuePair<string, object>> pairs && pairs.Any(p => p.Key == "Tenant" && (string)p.Value == "acme")));

        // One duration per attempt, by outcome (recorded before the outcome is stored, so it is there once the job ended).
        Assert.Equal(["error", "ok"], outcomes.Order());
    }
}
