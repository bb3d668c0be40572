using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.DependencyInjection;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace JobRuntime.Tests.Management;

public sealed class JobManagerTests
{
    [Fact]
    public async Task SubmitAsync_Typed_RunsAndReturnsTheResult()
    {
        await using var runtime = TestRuntime.Create();

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(21, Steps: 5));
        var result = await runtime.Manager.WaitForResultAsync<EchoResult>(id);

        Assert.Equal(new EchoResult(42, 1), result);
        var job = (await runtime.Manager.GetAsync(id))!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal("echo", job.Type);
        Assert.Equal(new JobProgress(5, 5, "step 5"), job.Progress);
        Assert.NotNull(job.StartedAt);
        Assert.NotNull(job.CompletedAt);
        Assert.NotNull(job.Duration);
    }

    [Fact]
    public async Task SubmitAsync_ByName_And_Json_Run()
    {
        await using var runtime = TestRuntime.Create();

        var byName = await runtime.Manager.SubmitAsync("echo", new EchoArgs(1));
        var byJson = await runtime.Manager.SubmitJsonAsync("echo", """{"value":5}""");

        Assert.Equal(2, (await runtime.Manager.WaitForResultAsync<EchoResult>(byName)).Doubled);
        Assert.Equal(10, (await runtime.Manager.WaitForResultAsync<EchoResult>(byJson)).Doubled);
    }

    [Fact]
    public async Task SubmitAsync_UnknownType_ThrowsAndStoresNothing()
    {
        await using var runtime = TestRuntime.Create();

        var ex = await Assert.ThrowsAsync<UnknownJobTypeException>(async () => await runtime.Manager.SubmitAsync("nope", new EchoArgs(1)));

        Assert.Contains("'nope'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("echo", ex.Message, StringComparison.Ordinal);
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
    }

    [Fact]
    public async Task SubmitAsync_ArgsOfTheWrongType_ThrowsAndStoresNothing()
    {
        await using var runtime = TestRuntime.Create();

        await Assert.ThrowsAsync<JobPayloadException>(async () => await runtime.Manager.SubmitAsync("echo", new GateArgs("x")));
        await Assert.ThrowsAsync<JobPayloadException>(async () => await runtime.Manager.SubmitJsonAsync("echo", "{not json"));
        await Assert.ThrowsAsync<JobPayloadException>(async () => await runtime.Manager.SubmitJsonAsync("echo", "[1,2]"));
        await Assert.ThrowsAsync<UnknownJobTypeException>(async () => await runtime.Manager.SubmitAsync(new ThreadArgs(1)));
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
    }

    [Fact]
    public async Task SubmitAsync_ArgsThatDoNotSerialize_ThrowsAndStoresNothing()
    {
        await using var runtime = TestRuntime.Create(builder: b => b.AddHandler<CyclicHandler>("cyclic"));
        var node = new Node();
        node.Next = node;

        var ex = await Assert.ThrowsAsync<JobPayloadException>(async () => await runtime.Manager.SubmitAsync("cyclic", node));

        Assert.Contains("do not serialize", ex.Message, StringComparison.Ordinal);
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
    }

    [Fact]
    public async Task SubmitAsync_InvalidOptions_ThrowsWithEveryError()
    {
        await using var runtime = TestRuntime.Create();

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions
        {
            Delay = TimeSpan.FromSeconds(1),
            RunAt = DateTimeOffset.UtcNow,
            MaxAttempts = 0,
            Timeout = TimeSpan.Zero,
        }));

        Assert.Contains("Delay or RunAt", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxAttempts", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Timeout", ex.Message, StringComparison.Ordinal);
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
    }

    [Fact]
    public void Validate_ListsEveryProblem_WithoutSubmitting_AndNoneForValidOptions()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.MaxValue - TimeSpan.FromDays(1));

        var errors = new JobSubmitOptions { Delay = TimeSpan.FromDays(2), MaxAttempts = 0, Tags = ["ok", ""] }.Validate(time);

        Assert.Equal(
            [
                "Delay puts the run time past the end of the calendar (was 2.00:00:00); use a shorter delay or RunAt.",
                "MaxAttempts must be at least 1 (was 0).",
                "Each tag must not be blank.",
            ],
            errors);
        Assert.Empty(new JobSubmitOptions { Delay = TimeSpan.FromHours(1), Tags = ["ok"] }.Validate(time));
        Assert.Empty(new JobSubmitOptions().Validate());
    }

    [Fact]
    public async Task SubmitAsync_InMemoryWithoutFiltersOrTracing_ReportsBadOptionsThroughItsTask_AndStoresNothing()
    {
        // The in-memory submit that awaits nothing still reports a problem in the task it returns, as every other
        // submit does: a caller holding the task before awaiting it sees no exception at the call.
        await using var runtime = TestRuntime.Create();
        var submit = runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions { Timeout = TimeSpan.FromSeconds(-1) });

        Assert.True(submit.IsFaulted);
        await Assert.ThrowsAsync<ArgumentException>(async () => await submit);
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await runtime.Manager.SubmitAsync(new EchoArgs(2), cancellationToken: cancelled.Token));
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
    }

    [Fact]
    public async Task SubmitAsync_HostileNamesAndLimits_ThrowWithEveryErrorAndStoreNothing()
    {
        await using var runtime = TestRuntime.Create();

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions
        {
            Queue = "q\0",
            Title = "x\uD800y",
            IdempotencyKey = "k\uDC00",
            Tags = ["ok", " ", new string('t', JobSubmitOptions.MaxNameLength + 1)],
            Timeout = TimeSpan.MaxValue,
            Delay = TimeSpan.MaxValue,
        }));

        Assert.Contains("Queue must be well-formed text", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Title must be at most", ex.Message, StringComparison.Ordinal);
        Assert.Contains("IdempotencyKey must be well-formed text", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Each tag must not be blank", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"Each tag must be at most {JobSubmitOptions.MaxNameLength} characters", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Timeout must be positive and at most 365 days", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Delay puts the run time past the end of the calendar", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(async () => await runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions { Queue = new string('q', 8000) }));
        Assert.Empty((await runtime.Manager.ListAsync()).Items);

        // Surrogate pairs are fine; so is a long, well-formed title within the limit.
        var id = await runtime.Manager.SubmitAsync(new EchoArgs(2), new JobSubmitOptions { Queue = "q\U0001F600", Title = new string('é', JobSubmitOptions.MaxTitleLength) });
        Assert.Equal("q\U0001F600", (await runtime.Manager.GetAsync(id))!.Queue);
    }

    [Fact]
    public async Task WaitForResultAsync_WrongResultType_ThrowsNamingTheJobAndTheType()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new EchoArgs(4));

        var error = await Assert.ThrowsAsync<InvalidCastException>(() => runtime.Manager.WaitForResultAsync<int[]>(id));

        Assert.Contains(id.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("System.Int32[]", error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(error.InnerException);
        Assert.Equal(8, (await runtime.Manager.WaitForResultAsync<EchoResult>(id)).Doubled);
    }

    [Fact]
    public async Task SubmitAsync_NullArguments_AreRefusedUnlessTheHandlerDeclaresThemNullable()
    {
        await using var runtime = TestRuntime.Create(builder: b => b.AddHandler<MaybeHandler>("maybe"));

        await Assert.ThrowsAsync<JobPayloadException>(async () => await runtime.Manager.SubmitAsync<EchoArgs>(null!));
        await Assert.ThrowsAsync<JobPayloadException>(async () => await runtime.Manager.SubmitAsync<EchoArgs?>("echo", null));
        var json = await Assert.ThrowsAsync<JobPayloadException>(async () => await runtime.Manager.SubmitJsonAsync("echo", "null"));
        Assert.Contains("null", json.Message, StringComparison.Ordinal);
        Assert.Empty((await runtime.Manager.ListAsync()).Items);

        // A handler whose argument is declared nullable gets its null.
        var id = await runtime.Manager.SubmitAsync<MaybeArgs?>("maybe", null);
        Assert.Equal("none", await runtime.Manager.WaitForResultAsync<string>(id));
        var fromJson = await runtime.Manager.SubmitJsonAsync("maybe", "null");
        Assert.Equal("none", await runtime.Manager.WaitForResultAsync<string>(fromJson));
    }

    public sealed record MaybeArgs(string Name);

    public sealed class MaybeHandler : IJobHandler<MaybeArgs, string>
    {
        public ValueTask<string> ExecuteAsync(MaybeArgs? args, JobContext context) => ValueTask.FromResult(args?.Name ?? "none");
    }

    [Fact]
    public async Task Handler_Throws_JobFailsWithTypeMessageAndStackTrace()
    {
        await using var runtime = TestRuntime.Create();

        var id = await runtime.Manager.SubmitAsync(new FailArgs("f", FailTimes: 1));
        var ex = await Assert.ThrowsAsync<JobFailedException>(() => runtime.Manager.WaitForResultAsync<int>(id));

        Assert.Equal(typeof(InvalidOperationException).FullName, ex.Error!.Type);
        Assert.Equal("boom 1", ex.Error.Message);
        Assert.Contains(nameof(FlakyHandler), ex.Error.StackTrace, StringComparison.Ordinal);
        Assert.Equal(JobStatus.Failed, ex.Job!.Status);
    }

    [Fact]
    public async Task CancelAsync_Pending_NeverRuns()
    {
        await using var runtime = TestRuntime.Create(o => o.MaxConcurrency = 1);
        var blocker = await runtime.Manager.SubmitAsync(new GateArgs("blocker"));
        await runtime.Gates.For("blocker").Started.Task;
        var pending = await runtime.Manager.SubmitAsync(new GateArgs("never"));

        Assert.Equal(JobCancelOutcome.Cancelled, await runtime.Manager.CancelAsync(pending));
        runtime.Gates.For("blocker").Open.SetResult();
        await runtime.Manager.WaitForCompletionAsync(blocker);

        var job = await runtime.Manager.WaitForCompletionAsync(pending);
        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.Null(job.StartedAt);
        Assert.False(runtime.Gates.For("never").Started.Task.IsCompleted);
        await Assert.ThrowsAsync<JobCancelledException>(() => runtime.Manager.WaitForResultAsync<string>(pending));
    }

    [Fact]
    public async Task CancelAsync_Running_TripsTheTokenAndEndsCancelled()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new GateArgs("run"));
        await runtime.Gates.For("run").Started.Task;

        Assert.Equal(JobCancelOutcome.Requested, await runtime.Manager.CancelAsync(id));
        var job = await runtime.Manager.WaitForCompletionAsync(id);

        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.Equal(JobCancelOutcome.AlreadyFinished, await runtime.Manager.CancelAsync(id));
    }

    [Fact]
    public async Task CancelAsync_Running_NeverRunsTheJobsCallbacksOnTheCallersThread()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new CallbackArgs("cb"));
        await runtime.Gates.For("cb").Started.Task;

        // Cancel from a dedicated (non-pool) thread, as a UI thread would: the handler's
        // cancellation callback must run elsewhere.
        int callerThread = 0;
        var caller = new Thread(() =>
        {
            callerThread = Environment.CurrentManagedThreadId;
            Assert.Equal(JobCancelOutcome.Requested, runtime.Manager.CancelAsync(id).AsTask().GetAwaiter().GetResult());
        });
        caller.Start();
        caller.Join();

        await runtime.Gates.For("cb").Open.Task;
        var job = await runtime.Manager.WaitForCompletionAsync(id);
        Assert.Equal(JobStatus.Completed, job.Status);
        int callbackThread = int.Parse(job.Result!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(callerThread, callbackThread);
    }

    [Fact]
    public async Task UnknownId_GivesClearNotFoundAnswers()
    {
        await using var runtime = TestRuntime.Create();
        var id = JobId.New();

        Assert.Null(await runtime.Manager.GetAsync(id));
        Assert.Equal(JobCancelOutcome.NotFound, await runtime.Manager.CancelAsync(id));
        Assert.False(await runtime.Manager.DeleteAsync(id));
        var ex = await Assert.ThrowsAsync<JobNotFoundException>(() => runtime.Manager.WaitForCompletionAsync(id));
        Assert.Equal(id, ex.JobId);
        await Assert.ThrowsAsync<JobNotFoundException>(async () => await runtime.Manager.RerunAsync(id));
        await Assert.ThrowsAsync<JobNotFoundException>(async () =>
        {
            await foreach (var unused in runtime.Manager.WatchAsync(id))
            {
            }
        });
    }

    [Fact]
    public async Task DeleteAsync_RunningJob_ThrowsAndKeepsIt()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new GateArgs("del"));
        await runtime.Gates.For("del").Started.Task;

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await runtime.Manager.DeleteAsync(id));

        runtime.Gates.For("del").Open.SetResult();
        await runtime.Manager.WaitForCompletionAsync(id);
        Assert.True(await runtime.Manager.DeleteAsync(id));
        Assert.Null(await runtime.Manager.GetAsync(id));
    }

    [Fact]
    public async Task RerunAsync_FinishedJob_RunsAgainAsANewJob()
    {
        await using var runtime = TestRuntime.Create();
        var first = await runtime.Manager.SubmitAsync(new EchoArgs(4));
        await runtime.Manager.WaitForCompletionAsync(first);

        var second = await runtime.Manager.RerunAsync(first);

        Assert.NotEqual(first, second);
        Assert.Equal(8, (await runtime.Manager.WaitForResultAsync<EchoResult>(second)).Doubled);
        Assert.Equal(first, (await runtime.Manager.GetAsync(second))!.RerunOf);
    }

    [Fact]
    public async Task RerunAsync_UnfinishedJob_Throws()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new GateArgs("rerun"));

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await runtime.Manager.RerunAsync(id));

        runtime.Gates.For("rerun").Open.SetResult();
        await runtime.Manager.WaitForCompletionAsync(id);
    }

    [Fact]
    public async Task Retries_BackOffExponentiallyOnTheClockThenSucceed()
    {
        var time = new FakeTimeProvider();
        await using var runtime = TestRuntime.Create(o =>
        {
            o.RetryBaseDelay = TimeSpan.FromSeconds(10);
            o.DefaultMaxAttempts = 3;
        }, time);
        using var events = runtime.Broker.SubscribeAll(1000);

        var id = await runtime.Manager.SubmitAsync(new FailArgs("retry", FailTimes: 2));

        var first = await NextOfKind(events, JobEventKind.Retrying);
        Assert.Equal("boom 1", first.Error!.Message);
        var waiting = (await runtime.Manager.GetAsync(id))!;
        Assert.Equal(JobStatus.Pending, waiting.Status);
        Assert.Equal(JobWaitReason.RetryBackoff, waiting.WaitReason);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(10), waiting.ScheduledAt);

        runtime.Advance(time, TimeSpan.FromSeconds(10));
        var second = await NextOfKind(events, JobEventKind.Retrying);
        Assert.Equal("boom 2", second.Error!.Message);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(20), (await runtime.Manager.GetAsync(id))!.ScheduledAt);

        runtime.Advance(time, TimeSpan.FromSeconds(20));
        Assert.Equal(3, await runtime.Manager.WaitForResultAsync<int>(id));
        Assert.Equal(3, (await runtime.Manager.GetAsync(id))!.Attempt);
    }

    [Fact]
    public async Task RetryDelay_StaysWithinJitterAndCap()
    {
        await using var runtime = TestRuntime.Create(o =>
        {
            o.RetryBaseDelay = TimeSpan.FromSeconds(1);
            o.RetryMaxDelay = TimeSpan.FromSeconds(30);
            o.RetryJitter = 0.2;
        });
        var lifecycle = runtime.Services.GetRequiredService<JobRuntime.Engine.JobEngine>().Lifecycle;

        for (var attempt = 1; attempt <= 10; attempt++)
        {
            var expected = Math.Min(Math.Pow(2, attempt - 1), 30);
            var delay = lifecycle.RetryDelay(attempt).TotalSeconds;
            Assert.InRange(delay, expected * 0.8 - 1e-9, expected * 1.2 + 1e-9);
        }
    }

    [Fact]
    public async Task DelayedJob_RunsOnlyWhenDue()
    {
        var time = new FakeTimeProvider();
        await using var runtime = TestRuntime.Create(time: time);

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions { Delay = TimeSpan.FromMinutes(10) });

        var job = (await runtime.Manager.GetAsync(id))!;
        Assert.Equal(JobWaitReason.Scheduled, job.WaitReason);
        runtime.Advance(time, TimeSpan.FromMinutes(10));
        Assert.Equal(2, (await runtime.Manager.WaitForResultAsync<EchoResult>(id)).Doubled);
    }

    [Fact]
    public async Task DependencyChain_PassesParentResults()
    {
        await using var runtime = TestRuntime.Create();

        var a = await runtime.Manager.SubmitAsync(new SumArgs(1));
        var b = await runtime.Manager.SubmitAsync(new SumArgs(10));
        var c = await runtime.Manager.SubmitAsync(new SumArgs(100), new JobSubmitOptions { DependsOn = [a, b] });
        var d = await runtime.Manager.SubmitAsync(new SumArgs(1000), new JobSubmitOptions { DependsOn = [c] });

        Assert.Equal(1111, await runtime.Manager.WaitForResultAsync<int>(d));
        Assert.Equal(111, await runtime.Manager.WaitForResultAsync<int>(c));
    }

    [Fact]
    public async Task DependencyChain_FailedParentCancelsDependents()
    {
        await using var runtime = TestRuntime.Create();
        var parent = await runtime.Manager.SubmitAsync(new FailArgs("parent", FailTimes: 5));
        var child = await runtime.Manager.SubmitAsync(new SumArgs(1), new JobSubmitOptions { DependsOn = [parent] });

        var ex = await Assert.ThrowsAsync<JobCancelledException>(() => runtime.Manager.WaitForResultAsync<int>(child));

        Assert.Equal("DependencyFailed", ex.Error!.Type);
        Assert.Equal(JobStatus.Failed, (await runtime.Manager.GetAsync(parent))!.Status);
    }

    [Fact]
    public async Task IdempotencyKey_SecondSubmitWhileUnfinished_ReturnsTheFirstJob()
    {
        await using var runtime = TestRuntime.Create();
        var options = new JobSubmitOptions { IdempotencyKey = "export-7" };

        var first = await runtime.Manager.SubmitAsync(new GateArgs("idem"), options);
        var second = await runtime.Manager.SubmitAsync(new GateArgs("idem"), options);

        Assert.Equal(first, second);
        runtime.Gates.For("idem").Open.SetResult();
        await runtime.Manager.WaitForCompletionAsync(first);
        var third = await runtime.Manager.SubmitAsync(new GateArgs("idem"), options);
        Assert.NotEqual(first, third);
        await runtime.Manager.WaitForCompletionAsync(third);
    }

    [Fact]
    public async Task ThousandJobs_NeverExceedTheConcurrencyBound()
    {
        await using var runtime = TestRuntime.Create(o => o.MaxConcurrency = 3);

        var ids = new List<JobId>();
        for (var i = 0; i < 1000; i++)
        {
            ids.Add(await runtime.Manager.SubmitAsync(new ProbeArgs(i)));
        }

        for (var i = 0; i < ids.Count; i++)
        {
            Assert.Equal(i, await runtime.Manager.WaitForResultAsync<int>(ids[i]));
        }

        Assert.Equal(1000, runtime.Probe.Total);
        Assert.InRange(runtime.Probe.Max, 1, 3);
    }

    [Fact]
    public async Task QueueLimit_CapsAQueueWithinTheGlobalBound()
    {
        await using var runtime = TestRuntime.Create(o =>
        {
            o.MaxConcurrency = 4;
            o.QueueConcurrency["serial"] = 1;
        });

        var ids = new List<JobId>();
        for (var i = 0; i < 100; i++)
        {
            ids.Add(await runtime.Manager.SubmitAsync(new ProbeArgs(i), new JobSubmitOptions { Queue = "serial" }));
        }

        foreach (var id in ids)
        {
            await runtime.Manager.WaitForCompletionAsync(id);
        }

        Assert.Equal(1, runtime.Probe.Max);
    }

    [Fact]
    public async Task Timeout_LogsOneSummaryLine_AndKeepsTheWholeDumpWithTheJob()
    {
        await using var runtime = TestRuntime.Create(builder: b => b.Services.AddLogging(l => l.AddFakeLogging()));

        var id = await runtime.Manager.SubmitAsync(new GateArgs("slow-log"), new JobSubmitOptions { Timeout = TimeSpan.FromMilliseconds(50) });
        await Assert.ThrowsAsync<JobTimedOutException>(() => runtime.Manager.WaitForResultAsync<string>(id));

        var dump = await runtime.Manager.GetThreadDumpAsync(id);
        Assert.NotNull(dump);
        var logged = Assert.Single(runtime.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 17);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Error, logged.Level);
        Assert.Contains(dump.Summary, logged.Message, StringComparison.Ordinal);
        Assert.Contains("GetThreadDumpAsync", logged.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Thread dump (", logged.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', logged.Message);
    }

    [Fact]
    public async Task Timeout_EndsTimedOut()
    {
        await using var runtime = TestRuntime.Create();

        var id = await runtime.Manager.SubmitAsync(new GateArgs("slow"), new JobSubmitOptions { Timeout = TimeSpan.FromMilliseconds(50) });
        var ex = await Assert.ThrowsAsync<JobTimedOutException>(() => runtime.Manager.WaitForResultAsync<string>(id));

        Assert.Equal("Timeout", ex.Error!.Type);
        Assert.Equal(JobStatus.TimedOut, ex.Job!.Status);
    }

    [Fact]
    public async Task Timeout_HandlerIgnoringCancellation_IsAbandonedAndItsSlotReleased()
    {
        var time = new FakeTimeProvider();
        await using var runtime = TestRuntime.Create(o =>
        {
            o.MaxConcurrency = 1;
            o.CancellationGracePeriod = TimeSpan.FromSeconds(5);
        }, time);
        using var events = runtime.Broker.SubscribeAll(1000);

        var stuck = await runtime.Manager.SubmitAsync(new GateArgs("stuck", IgnoreCancellation: true), new JobSubmitOptions { Timeout = TimeSpan.FromSeconds(10) });
        await runtime.Gates.For("stuck").Started.Task;
        var next = await runtime.Manager.SubmitAsync(new EchoArgs(3));

        runtime.Advance(time, TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(JobStatus.TimedOut, (await runtime.Manager.WaitForCompletionAsync(stuck)).Status);
        Assert.Equal(6, (await runtime.Manager.WaitForResultAsync<EchoResult>(next)).Doubled);
        Assert.Equal(1, runtime.Services.GetRequiredService<JobRuntime.IJobExecutor>().AbandonedCount);

        // The abandoned handler's late result is discarded: the job stays TimedOut.
        runtime.Gates.For("stuck").Open.SetResult();
        var stored = (await runtime.Manager.GetAsync(stuck))!;
        Assert.Equal(JobStatus.TimedOut, stored.Status);
        Assert.Contains("abandoned", stored.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DedicatedThread_HandlerRunsOffThePool()
    {
        await using var runtime = TestRuntime.Create();

        var pooled = await runtime.Manager.SubmitAsync("pool-thread", new ThreadArgs(0));
        var dedicated = await runtime.Manager.SubmitAsync("dedicated-thread", new ThreadArgs(0));

        Assert.StartsWith("True|", await runtime.Manager.WaitForResultAsync<string>(pooled), StringComparison.Ordinal);
        var thread = await runtime.Manager.WaitForResultAsync<string>(dedicated);
        Assert.StartsWith("False|JobRuntime dedicated-thread", thread, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchAsync_StreamsProgressAndEndsAfterTheTerminalEvent()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new GateArgs("watch"));
        await runtime.Gates.For("watch").Started.Task;

        var seen = new List<JobEvent>();
        var watching = Task.Run(async () =>
        {
            await foreach (var e in runtime.Manager.WatchAsync(id))
            {
                seen.Add(e);
                if (e.Kind == JobEventKind.State)
                {
                    runtime.Gates.For("watch").Open.TrySetResult();
                }
            }
        });
        await watching;

        Assert.Equal(JobEventKind.State, seen[0].Kind);
        Assert.Equal(JobStatus.Running, seen[0].Status);
        Assert.Equal(JobEventKind.Completed, seen[^1].Kind);
        Assert.Equal(seen.Select(e => e.Sequence).Order(), seen.Select(e => e.Sequence));
    }

    [Fact]
    public async Task WatchAsync_FinishedJob_YieldsItsTerminalStateAndEnds()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new EchoArgs(1));
        await runtime.Manager.WaitForCompletionAsync(id);

        var seen = new List<JobEvent>();
        await foreach (var e in runtime.Manager.WatchAsync(id))
        {
            seen.Add(e);
        }

        var only = Assert.Single(seen);
        Assert.True(only.IsTerminal);
        Assert.Equal(JobStatus.Completed, only.Status);
    }

    [Fact]
    public async Task CleanupAsync_RemovesOldFinishedJobs()
    {
        var time = new FakeTimeProvider();
        await using var runtime = TestRuntime.Create(time: time);
        var old = await runtime.Manager.SubmitAsync(new EchoArgs(1));
        await runtime.Manager.WaitForCompletionAsync(old);
        runtime.Advance(time, TimeSpan.FromDays(2));
        var recent = await runtime.Manager.SubmitAsync(new EchoArgs(1));
        await runtime.Manager.WaitForCompletionAsync(recent);

        Assert.Equal(1, await runtime.Manager.CleanupAsync(TimeSpan.FromDays(1)));
        Assert.Null(await runtime.Manager.GetAsync(old));
        Assert.NotNull(await runtime.Manager.GetAsync(recent));
    }

    [Fact]
    public async Task RetainFinishedJobs_PrunesOldFinishedJobsAutomatically()
    {
        var time = new FakeTimeProvider();
        await using var runtime = TestRuntime.Create(o =>
        {
            o.RetainFinishedJobs = TimeSpan.FromHours(1);
            o.RecoveryInterval = TimeSpan.FromMinutes(1);
        }, time);
        var old = await runtime.Manager.SubmitAsync(new EchoArgs(1));
        await runtime.Manager.WaitForCompletionAsync(old);
        var pending = await runtime.Manager.SubmitAsync(new EchoArgs(2), new JobSubmitOptions { Delay = TimeSpan.FromDays(1) });

        // Two hours later the next maintenance pass (recovery interval) deletes the finished job.
        runtime.Advance(time, TimeSpan.FromHours(2));
        var late = await runtime.Manager.SubmitAsync(new EchoArgs(3));
        await runtime.Manager.WaitForCompletionAsync(late);
        var dispatcher = runtime.Services.GetRequiredService<JobRuntime.Engine.JobEngine>();
        for (var passes = 0; passes < 5 && await runtime.Manager.GetAsync(old) is not null; passes++)
        {
            var pass = dispatcher.WaitForMaintenanceAsync();
            runtime.Advance(time, TimeSpan.FromMinutes(1));
            await pass;
        }

        Assert.Null(await runtime.Manager.GetAsync(old));
        Assert.NotNull(await runtime.Manager.GetAsync(pending));
        Assert.NotNull(await runtime.Manager.GetAsync(late));
    }

    [Fact]
    public async Task Dispose_WhileJobsRun_DoesNotHang()
    {
        var runtime = TestRuntime.Create(o => o.CancellationGracePeriod = TimeSpan.FromMilliseconds(100));
        var gates = runtime.Gates;
        var executor = runtime.Services.GetRequiredService<JobRuntime.IJobExecutor>();
        var cooperative = await runtime.Manager.SubmitAsync(new GateArgs("coop"));
        var stubborn = await runtime.Manager.SubmitAsync(new GateArgs("stubborn", IgnoreCancellation: true));
        await runtime.Gates.For("coop").Started.Task;
        await runtime.Gates.For("stubborn").Started.Task;

        await runtime.DisposeAsync();

        // The cooperative job stopped on its token; the stubborn one was abandoned after the grace period.
        Assert.Equal(0, executor.RunningCount);
        Assert.Equal(1, executor.AbandonedCount);
        Assert.NotEqual(cooperative, stubborn);
        gates.For("stubborn").Open.TrySetResult();
    }

    private static async Task<JobEvent> NextOfKind(JobEventSubscription subscription, JobEventKind kind)
    {
        await foreach (var e in subscription.ReadAllAsync())
        {
            if (e.Kind == kind)
            {
                return e;
            }
        }

        throw new InvalidOperationException("The stream ended.");
    }

    public sealed class Node
    {
        public Node? Next { get; set; }
    }

    public sealed class CyclicHandler : JobRuntime.IJobHandler<Node, int>
    {
        public ValueTask<int> ExecuteAsync(Node args, JobRuntime.JobContext context) => ValueTask.FromResult(0);
    }
}
