using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace JobRuntime.Tests.Pipeline;

/// <summary>Per-handler retry policies: which failures are retried, and how long each retry waits.</summary>
public sealed class RetryPolicyTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    public sealed record ThrowArgs(string Kind);

    /// <summary>Always fails, with the exception its argument names.</summary>
    public sealed class ThrowingHandler : IJobHandler<ThrowArgs, int>
    {
        public ValueTask<int> ExecuteAsync(ThrowArgs args, JobContext context) => args.Kind switch
        {
            "timeout" => throw new TimeoutException($"upstream slow (attempt {context.Attempt})"),
            "http" => throw new HttpRequestException("503"),
            _ => throw new InvalidOperationException("a bug"),
        };
    }

    private static TestRuntime Start(FakeTimeProvider time, JobRetryPolicy policy, int maxAttempts = 4, double random = 0.5)
        => TestRuntime.Create(
            o => o.RetryRandom = () => random,
            time,
            b => b.AddHandler<ThrowingHandler>("throwing", h =>
            {
                h.MaxAttempts = maxAttempts;
                h.Retry = policy;
            }));

    /// <summary>Waits until the job's attempt number <paramref name="attempt"/> failed and was put back with its retry time.</summary>
    private static async Task<JobSnapshot> RetriedAfterAttemptAsync(TestRuntime runtime, JobId id, int attempt)
    {
        await foreach (var e in runtime.Manager.WatchAsync(id).WithCancellation(new CancellationTokenSource(Guard).Token))
        {
            if ((e.Kind == JobEventKind.Retrying && e.Attempt == attempt) || e.IsTerminal
                || (e.Kind == JobEventKind.State && e.Status == JobStatus.Pending && e.Attempt == attempt))
            {
                break;
            }
        }

        return (await runtime.Manager.GetAsync(id))!;
    }

    [Theory]
    [InlineData(RetryBackoff.Linear, new[] { 10, 20, 30 })]
    [InlineData(RetryBackoff.Exponential, new[] { 10, 20, 40 })]
    [InlineData(RetryBackoff.Fixed, new[] { 10, 10, 10 })]
    public async Task EachRetry_WaitsAsThePolicySays_KeptAsTheJobsRunTime(RetryBackoff backoff, int[] seconds)
    {
        var time = new FakeTimeProvider();
        await using var runtime = Start(time, new JobRetryPolicy { Backoff = backoff, Delay = TimeSpan.FromSeconds(10), Jitter = 0 });
        var id = await runtime.Manager.SubmitAsync(new ThrowArgs("timeout"));

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var job = await RetriedAfterAttemptAsync(runtime, id, attempt);
            Assert.Equal(JobStatus.Pending, job.Status);
            Assert.Equal(attempt, job.Attempt);
            Assert.Equal(TimeSpan.FromSeconds(seconds[attempt - 1]), job.ScheduledAt - time.GetUtcNow());
            Assert.Contains($"attempt {attempt}", job.Error!.Message, StringComparison.Ordinal);
            runtime.Advance(time, job.ScheduledAt - time.GetUtcNow());
        }

        var last = await runtime.Manager.WaitForCompletionAsync(id).WaitAsync(Guard);
        Assert.Equal(JobStatus.Failed, last.Status);
        Assert.Equal(4, last.Attempt);
    }

    [Fact]
    public async Task ASubmitsRetryTiming_ReplacesTheHandlers_WhileTheHandlerStillSaysWhatIsRetried()
    {
        var time = new FakeTimeProvider();
        var handlerPolicy = new JobRetryPolicy { Delay = TimeSpan.FromMinutes(5), Jitter = 0 }.Handle<TimeoutException>();
        await using var runtime = Start(time, handlerPolicy, maxAttempts: 3);
        var fast = new JobSubmitOptions { Retry = new JobRetryPolicy { Backoff = RetryBackoff.Fixed, Delay = TimeSpan.FromSeconds(3), Jitter = 0 } };

        var id = await runtime.Manager.SubmitAsync(new ThrowArgs("timeout"), fast);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var job = await RetriedAfterAttemptAsync(runtime, id, attempt);
            Assert.Equal(TimeSpan.FromSeconds(3), job.ScheduledAt - time.GetUtcNow());
            Assert.Equal(new JobRetryTiming(RetryBackoff.Fixed, TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(10), 0), job.Retry);
            runtime.Advance(time, job.ScheduledAt - time.GetUtcNow());
        }

        Assert.Equal(JobStatus.Failed, (await runtime.Manager.WaitForCompletionAsync(id).WaitAsync(Guard)).Status);

        // An exception the handler's policy does not handle fails at once, whatever the submit's timing.
        var bug = await runtime.Manager.SubmitAsync(new ThrowArgs("bug"), fast);
        Assert.Equal((JobStatus.Failed, 1), await runtime.Manager.WaitForCompletionAsync(bug).WaitAsync(Guard).ContinueWith(t => (t.Result.Status, t.Result.Attempt)));

        // A re-run keeps the timing; without one, the handler's applies.
        Assert.Equal(fast.Retry.Delay, (await runtime.Manager.GetAsync(await runtime.Manager.RerunAsync(id)))!.Retry!.Delay);
        var plain = await runtime.Manager.SubmitAsync(new ThrowArgs("timeout"));
        Assert.Equal(TimeSpan.FromMinutes(5), (await RetriedAfterAttemptAsync(runtime, plain, 1)).ScheduledAt - time.GetUtcNow());
    }

    [Fact]
    public async Task ASubmitsRetry_WithExceptionFiltersOrBadNumbers_IsRefused_AndNothingIsStored()
    {
        await using var runtime = Start(new FakeTimeProvider(), new JobRetryPolicy());
        var filtered = new JobSubmitOptions { Retry = new JobRetryPolicy().Handle<TimeoutException>() };
        var bad = new JobSubmitOptions { Retry = new JobRetryPolicy { Delay = TimeSpan.FromSeconds(-1), Jitter = 3 } };

        var first = await Assert.ThrowsAsync<ArgumentException>(async () => await runtime.Manager.SubmitAsync(new ThrowArgs("timeout"), filtered));
        var second = await Assert.ThrowsAsync<ArgumentException>(async () => await runtime.Manager.SubmitAsync(new ThrowArgs("timeout"), bad));

        Assert.Contains("the handler's", first.Message, StringComparison.Ordinal);
        Assert.Contains("Retry.Delay must be positive", second.Message, StringComparison.Ordinal);
        Assert.Contains("Retry.Jitter must be between 0 and 1", second.Message, StringComparison.Ordinal);
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
    }

    [Fact]
    public async Task OnlyHandledExceptions_AreRetried_OthersFailAtOnce()
    {
        var time = new FakeTimeProvider();
        var policy = new JobRetryPolicy { Delay = TimeSpan.FromSeconds(1) }.Handle<TimeoutException>().Handle(e => e is HttpRequestException { Message: "503" });
        await using var runtime = Start(time, policy, maxAttempts: 5);

        var bug = await runtime.Manager.WaitForCompletionAsync(await runtime.Manager.SubmitAsync(new ThrowArgs("bug"))).WaitAsync(Guard);
        Assert.Equal(JobStatus.Failed, bug.Status);
        Assert.Equal(1, bug.Attempt);
        Assert.Equal(typeof(InvalidOperationException).FullName, bug.Error!.Type);

        var http = await RetriedAfterAttemptAsync(runtime, await runtime.Manager.SubmitAsync(new ThrowArgs("http")), 1);
        Assert.Equal(JobStatus.Pending, http.Status);
    }

    [Fact]
    public async Task TheCapAndTheJitter_ApplyWithTheInjectedRandomness()
    {
        var time = new FakeTimeProvider();

        // 0 from the source is the low end of the spread: 1 − jitter.
        await using var runtime = Start(time, new JobRetryPolicy { Delay = TimeSpan.FromSeconds(40), MaxDelay = TimeSpan.FromSeconds(50), Jitter = 0.5 }, random: 0);
        var id = await runtime.Manager.SubmitAsync(new ThrowArgs("timeout"));

        var first = await RetriedAfterAttemptAsync(runtime, id, 1);
        Assert.Equal(TimeSpan.FromSeconds(20), first.ScheduledAt - time.GetUtcNow());
        runtime.Advance(time, first.ScheduledAt - time.GetUtcNow());
        var second = await RetriedAfterAttemptAsync(runtime, id, 2);
        Assert.Equal(TimeSpan.FromSeconds(25), second.ScheduledAt - time.GetUtcNow());
    }

    [Fact]
    public void AnInvalidPolicy_IsRefusedAtRegistration_WithEveryProblem()
    {
        var builder = new ServiceCollection().AddJobRuntime();

        var error = Assert.Throws<ArgumentException>(() => builder.AddHandler<ThrowingHandler>("throwing", h => h.Retry = new JobRetryPolicy
        {
            Delay = TimeSpan.FromSeconds(-1),
            MaxDelay = TimeSpan.FromSeconds(-2),
            Jitter = 1.5,
        }));

        Assert.Contains("'throwing'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Retry.Delay must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("Retry.MaxDelay must be at least Retry.Delay", error.Message, StringComparison.Ordinal);
        Assert.Contains("Retry.Jitter must be between 0 and 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DelayAfter_GrowsByTheBackoff_UpToTheCap()
    {
        var policy = new JobRetryPolicy { Delay = TimeSpan.FromSeconds(3), MaxDelay = TimeSpan.FromSeconds(20) };
        Assert.Equal([3, 6, 12, 20, 20], Enumerable.Range(1, 5).Select(a => policy.DelayAfter(a).TotalSeconds));
        policy.Backoff = RetryBackoff.Linear;
        Assert.Equal([3, 6, 9, 12, 15, 18, 20], Enumerable.Range(1, 7).Select(a => policy.DelayAfter(a).TotalSeconds));
        policy.Backoff = RetryBackoff.Fixed;
        Assert.Equal([3, 3, 3], Enumerable.Range(1, 3).Select(a => policy.DelayAfter(a).TotalSeconds));
    }

    [Fact]
    public void WaitAfter_SpreadsTheDelayByTheJitter_WithTheGivenRandomness()
    {
        var policy = new JobRetryPolicy { Delay = TimeSpan.FromSeconds(10), MaxDelay = TimeSpan.FromSeconds(40), Jitter = 0.5 };

        Assert.Equal(10, policy.WaitAfter(2, () => 0).TotalSeconds, 6);         // 20 s − 50 %
        Assert.Equal(20, policy.WaitAfter(2, () => 0.5).TotalSeconds, 6);       // the middle
        Assert.Equal(59.998, policy.WaitAfter(5, () => 0.99995).TotalSeconds, 3); // capped at 40 s, then + ~50 %
        policy.Jitter = 0;
        Assert.Equal(TimeSpan.FromSeconds(20), policy.WaitAfter(2, () => throw new InvalidOperationException("no jitter, no randomness")));
    }

    public sealed record PoliteArgs(string Key);

    /// <summary>Asks to be run again in 30 s on its first run (an upstream said "later"), then succeeds.</summary>
    public sealed class PoliteHandler(Gates gates) : IJobHandler<PoliteArgs, int>
    {
        public ValueTask<int> ExecuteAsync(PoliteArgs args, JobContext context)
        {
            if (gates.CountAttempt(args.Key) == 1)
            {
                context.RetryIn(TimeSpan.FromSeconds(30), "upstream busy");
            }

            return ValueTask.FromResult(context.Attempt);
        }
    }

    [Fact]
    public async Task RetryIn_PostponesTheJob_WithoutUsingUpAnAttempt()
    {
        var time = new FakeTimeProvider();
        await using var runtime = TestRuntime.Create(time: time, builder: b => b.AddHandler<PoliteHandler>("polite", h => h.MaxAttempts = 1));
        var id = await runtime.Manager.SubmitAsync(new PoliteArgs("polite"));

        // Every event of the job (its state first) is a moment to look: done once the first run put it back.
        JobSnapshot? postponed = null;
        await foreach (var _ in runtime.Manager.WatchAsync(id).WithCancellation(new CancellationTokenSource(Guard).Token))
        {
            // The submitted job is due now; only the postponed one waits (the fake clock stands still).
            postponed = await runtime.Manager.GetAsync(id);
            if (postponed!.Status == JobStatus.Pending && postponed.ScheduledAt > time.GetUtcNow())
            {
                break;
            }
        }

        Assert.Equal(1, runtime.Gates.Attempts("polite"));
        Assert.Equal(0, postponed!.Attempt);
        Assert.Equal(TimeSpan.FromSeconds(30), postponed!.ScheduledAt - time.GetUtcNow());
        Assert.Equal(JobWaitReason.Scheduled, postponed.WaitReason);
        runtime.Advance(time, TimeSpan.FromSeconds(30));

        // Its one attempt is still there: the second run is attempt 1, and it completes.
        Assert.Equal(1, await runtime.Manager.WaitForResultAsync<int>(id).WaitAsync(Guard));
    }

    [Fact]
    public void RetryIn_RefusesANegativeOrEndlessDelay()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobPostponedException(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobPostponedException(JobPostponedException.MaxDelay + TimeSpan.FromTicks(1)));
    }
}
