using System.Collections.Concurrent;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Tests.Pipeline;

/// <summary>Middleware around attempts, and filters around submits.</summary>
public sealed class MiddlewareTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>What the middleware and handlers of one test saw, in order.</summary>
    public sealed class Journal
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public void Write(string line) => Lines.Enqueue(line);
    }

    /// <summary>One per attempt scope: shows whether two parties got the same scoped instance.</summary>
    public sealed class TenantScope
    {
        public Guid Id { get; } = Guid.NewGuid();
    }

    /// <summary>Tells the middleware what to do with a job, by its argument's value.</summary>
    public sealed record StepArgs(int Value);

    public sealed class OuterMiddleware(Journal journal, TenantScope tenant) : IJobMiddleware
    {
        public async ValueTask<object?> InvokeAsync(JobContext context, JobExecutionDelegate next)
        {
            journal.Write($"outer before {tenant.Id}");
            try
            {
                return await next(context);
            }
            finally
            {
                journal.Write("outer after");
            }
        }
    }

    public sealed class InnerMiddleware(Journal journal) : IJobMiddleware
    {
        public async ValueTask<object?> InvokeAsync(JobContext context, JobExecutionDelegate next)
        {
            var value = context.Job.GetArgs<StepArgs>().Value;
            switch (value)
            {
                case -1:
                    journal.Write("inner refuses");
                    throw new UnauthorizedAccessException("tenant not allowed");
                case -2:
                    journal.Write("inner answers");
                    return 42;
                case -3:
                    journal.Write("inner answers wrongly");
                    return "not an int";
            }

            journal.Write("inner before");
            var result = await next(context);
            journal.Write($"inner after {result}");
            return result;
        }
    }

    public sealed class StepHandler(Journal journal, TenantScope tenant) : IJobHandler<StepArgs, int>
    {
        public ValueTask<int> ExecuteAsync(StepArgs args, JobContext context)
        {
            journal.Write($"handler {tenant.Id}");
            return ValueTask.FromResult(args.Value * 10);
        }
    }

    private static TestRuntime Start(Journal journal, Action<JobRuntimeBuilder>? more = null) => TestRuntime.Create(builder: b =>
    {
        b.Services.AddSingleton(journal);
        b.Services.AddScoped<TenantScope>();
        b.AddHandler<StepHandler>("step").UseMiddleware<OuterMiddleware>().UseMiddleware<InnerMiddleware>();
        more?.Invoke(b);
    });

    [Fact]
    public async Task Middleware_RunsOutermostFirst_AroundTheHandler_SharingTheAttemptsScope()
    {
        var journal = new Journal();
        await using var runtime = Start(journal);

        var result = await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync(new StepArgs(3))).WaitAsync(Guard);

        Assert.Equal(30, result);
        var lines = journal.Lines.ToArray();
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("outer before ", lines[0], StringComparison.Ordinal);
        Assert.Equal("inner before", lines[1]);
        Assert.Equal("handler " + lines[0]["outer before ".Length..], lines[2]);
        Assert.Equal(["inner after 30", "outer after"], lines[3..]);
    }

    [Fact]
    public async Task AMiddlewareThatThrows_FailsTheAttempt_TheHandlerDoesNotRun_OuterOnesUnwind()
    {
        var journal = new Journal();
        await using var runtime = Start(journal);

        var job = await runtime.Manager.WaitForCompletionAsync(await runtime.Manager.SubmitAsync(new StepArgs(-1))).WaitAsync(Guard);

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(typeof(UnauthorizedAccessException).FullName, job.Error!.Type);
        Assert.Equal("tenant not allowed", job.Error.Message);
        Assert.DoesNotContain(journal.Lines, l => l.StartsWith("handler", StringComparison.Ordinal));
        Assert.Equal("outer after", journal.Lines.Last());
    }

    [Fact]
    public async Task AMiddlewareThatAnswers_ShortCircuitsWithItsResult_OfTheHandlersTypeOnly()
    {
        var journal = new Journal();
        await using var runtime = Start(journal);

        Assert.Equal(42, await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync(new StepArgs(-2))).WaitAsync(Guard));
        Assert.DoesNotContain(journal.Lines, l => l.StartsWith("handler", StringComparison.Ordinal));

        var wrong = await runtime.Manager.WaitForCompletionAsync(await runtime.Manager.SubmitAsync(new StepArgs(-3))).WaitAsync(Guard);
        Assert.Equal(JobStatus.Failed, wrong.Status);
        Assert.Contains("returned a System.String, but its handler returns System.Int32", wrong.Error!.Message, StringComparison.Ordinal);
    }

    /// <summary>Tags every job with its tenant; refuses jobs of a blocked value; records its order.</summary>
    public sealed class TenantFilter(Journal journal) : IJobSubmitFilter
    {
        public ValueTask<JobSubmitOptions> OnSubmitAsync(JobSubmitContext submit, CancellationToken cancellationToken)
        {
            journal.Write($"tenant filter {submit.JobType} rerun={submit.RerunOf is not null}");
            if (submit.Payload.Contains("\"value\":13", StringComparison.Ordinal))
            {
                throw new JobSubmitRejectedException("13 is not allowed for this tenant.");
            }

            return ValueTask.FromResult(submit.Options with { Tags = [.. submit.Options.Tags, "tenant:acme"] });
        }
    }

    public sealed class QueueFilter(Journal journal) : IJobSubmitFilter
    {
        public ValueTask<JobSubmitOptions> OnSubmitAsync(JobSubmitContext submit, CancellationToken cancellationToken)
        {
            journal.Write($"queue filter sees {string.Join(",", submit.Options.Tags)}");
            return ValueTask.FromResult(submit.Options with { Queue = submit.Options.Queue ?? "acme" });
        }
    }

    [Fact]
    public async Task SubmitFilters_RunInOrder_EnrichTheStoredJob_AndApplyToReruns()
    {
        var journal = new Journal();
        await using var runtime = Start(journal, b => b.AddSubmitFilter<TenantFilter>().AddSubmitFilter<QueueFilter>());

        var id = await runtime.Manager.SubmitAsync(new StepArgs(1), new JobSubmitOptions { Tags = ["mine"] });
        var job = await runtime.Manager.GetAsync(id);

        Assert.Equal(["mine", "tenant:acme"], job!.Tags);
        Assert.Equal("acme", job.Queue);
        Assert.Equal(["tenant filter step rerun=False", "queue filter sees mine,tenant:acme"], journal.Lines.Take(2));
        await runtime.Manager.WaitForCompletionAsync(id).WaitAsync(Guard);
        var rerun = await runtime.Manager.RerunAsync(id);
        Assert.Contains("tenant filter step rerun=True", journal.Lines);
        Assert.Equal("acme", (await runtime.Manager.GetAsync(rerun))!.Queue);
    }

    [Fact]
    public async Task ASubmitFilterThatRefuses_StoresNothing_AndSaysWhy()
    {
        await using var runtime = Start(new Journal(), b => b.AddSubmitFilter<TenantFilter>());

        var refused = await Assert.ThrowsAsync<JobSubmitRejectedException>(async () => await runtime.Manager.SubmitAsync(new StepArgs(13)));

        Assert.Equal("13 is not allowed for this tenant.", refused.Message);
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
    }
}
