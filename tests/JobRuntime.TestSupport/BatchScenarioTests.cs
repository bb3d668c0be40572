using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace JobRuntime.TestSupport;

/// <summary>
/// Batches through the manager, run by each store's tests (in memory, SQLite, PostgreSQL): atomic submit
/// with every problem named, the continuation with the outcome, the live status stream, cancel.
/// </summary>
public abstract class BatchScenarioTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Configures the store under test.</summary>
    protected abstract Task UseStoreAsync(JobRuntimeBuilder builder);

    [Fact]
    public async Task ABatch_RunsEveryJob_ThenTheContinuation_WhichReadsTheOutcome()
    {
        await using var runtime = await StartAsync();
        var batch = new JobBatch { Title = "five exports" };
        for (var i = 0; i < 5; i++)
        {
            batch.Add(new BatchWork($"job-{i}", Fail: i == 3));
        }

        batch.ContinueWith(new BatchReport("report"));

        var submitted = await runtime.Jobs.SubmitBatchAsync(batch);

        Assert.Equal(5, submitted.JobIds.Count);
        var report = await runtime.Jobs.WaitForResultAsync<string>(submitted.BatchId).WaitAsync(Guard);
        Assert.Equal($"4/5 completed; not completed: {submitted.JobIds[3]}", report);
        var status = (await runtime.Jobs.GetBatchAsync(submitted.BatchId))!;
        Assert.Equal((JobBatchState.Failed, 5L, 4L, 1L, 5L, JobStatus.Completed), (status.State, status.Total, status.Completed, status.Failed, status.Finished, status.HeadStatus));
        Assert.True(status.IsFinished);
        Assert.Equal(1.0, status.Progress);
        Assert.Equal([submitted.JobIds[3]], status.FailedJobs);
        Assert.Equal("batch-report", status.ContinuationType);
        Assert.Equal("five exports", status.Title);
        var member = (await runtime.Jobs.GetAsync(submitted.JobIds[0]))!;
        Assert.Equal(submitted.BatchId, member.BatchId);
        Assert.Equal(submitted.BatchId, member.ToView().BatchId);
        Assert.Empty((await runtime.Jobs.GetAsync(submitted.BatchId))!.ToView().DependsOn);
        Assert.Equal(submitted.JobIds.Order(), (await runtime.Jobs.ListAsync(new JobQuery { BatchId = submitted.BatchId })).Items.Select(j => j.Id).Order());
    }

    [Fact]
    public async Task WatchBatch_StreamsEachMemberFinishing_AndEndsWhenTheBatchIsOver_WithoutAContinuation()
    {
        await using var runtime = await StartAsync();
        var batch = new JobBatch();
        for (var i = 0; i < 3; i++)
        {
            batch.Add(new BatchWork($"w-{i}", Wait: true));
        }

        var submitted = await runtime.Jobs.SubmitBatchAsync(batch);
        var seen = new List<JobBatchStatus>();
        var opened = 0;
        await foreach (var status in runtime.Jobs.WatchBatchAsync(submitted.BatchId).WithCancellation(new CancellationTokenSource(Guard).Token))
        {
            seen.Add(status);

            // One member at a time: the next opens only once the stream has shown the previous one finished.
            if (status.Finished == opened && opened < 3)
            {
                await runtime.Gates.For($"w-{opened}").Started.Task.WaitAsync(Guard);
                runtime.Gates.For($"w-{opened}").Open.TrySetResult();
                opened++;
            }
        }

        Assert.Equal(3, opened);
        Assert.True(seen[^1].IsFinished);
        Assert.Equal((JobBatchState.Succeeded, 3L, JobStatus.Completed, 1.0), (seen[^1].State, seen[^1].Completed, seen[^1].HeadStatus, seen[^1].Progress));
        Assert.Null(seen[^1].ContinuationType);
        Assert.Equal("Batch of 3 jobs", seen[^1].Title);
        for (var k = 1; k <= 3; k++)
        {
            Assert.Contains(seen, s => s.Finished == k);
        }

        Assert.Equal(seen.Select(s => s.Finished).Order(), seen.Select(s => s.Finished));
        var head = (await runtime.Jobs.GetAsync(submitted.BatchId))!;
        Assert.Equal(JobBatch.HeadType, head.Type);
        Assert.Equal(3, head.GetResult<Storage.JobCounts>().Completed);
    }

    [Fact]
    public async Task CancelBatch_CancelsTheUnfinishedJobs_AndTheContinuationNeverRuns()
    {
        await using var runtime = await StartAsync(concurrency: 1);
        var batch = new JobBatch();
        batch.Add(new BatchWork("running", Wait: true)).Add(new BatchWork("waiting-1")).Add(new BatchWork("waiting-2"));
        batch.ContinueWith(new BatchReport("never"));
        var submitted = await runtime.Jobs.SubmitBatchAsync(batch);
        await runtime.Gates.For("running").Started.Task.WaitAsync(Guard);

        var cancelled = await runtime.Jobs.CancelBatchAsync(submitted.BatchId);

        // The head, the running member (asked to stop) and the two pending ones.
        Assert.Equal(4, cancelled);
        JobBatchStatus? last = null;
        await foreach (var status in runtime.Jobs.WatchBatchAsync(submitted.BatchId).WithCancellation(new CancellationTokenSource(Guard).Token))
        {
            last = status;
        }

        Assert.Equal((JobBatchState.Cancelled, 3L, JobStatus.Cancelled), (last!.State, last.Cancelled, last.HeadStatus));
        Assert.True(last.IsFinished);
        Assert.Equal(0, runtime.Gates.Attempts("never"));
        Assert.Equal(0, runtime.Gates.Attempts("waiting-1") + runtime.Gates.Attempts("waiting-2"));
    }

    [Fact]
    public async Task ABatchWithBadJobs_IsRefusedWhole_NamingEveryProblem_AndStoresNothing()
    {
        await using var runtime = await StartAsync();
        var batch = new JobBatch()
            .Add(new BatchWork("fine"))
            .AddJson("no-such-type", "{}")
            .AddJson("batch-work", "{\"key\": 12")
            .Add(new BatchWork("late"), new JobSubmitOptions { Delay = TimeSpan.FromSeconds(-5) })
            .Add(new BatchWork("keyed"), new JobSubmitOptions { IdempotencyKey = "k" });
        batch.ContinueWith(new BatchReport("r"), new JobSubmitOptions { DependsOn = [JobId.New()] });

        var error = await Assert.ThrowsAsync<JobBatchRejectedException>(async () => await runtime.Jobs.SubmitBatchAsync(batch));

        Assert.Equal([-1, 1, 2, 3, 4], error.Problems.Select(p => p.Index).Order());
        Assert.Contains("no-such-type", error.Problems.Single(p => p.Index == 1).Message, StringComparison.Ordinal);
        Assert.Equal("batch-work", error.Problems.Single(p => p.Index == 2).JobType);
        Assert.Contains("Delay", error.Problems.Single(p => p.Index == 3).Message, StringComparison.Ordinal);
        Assert.Contains("idempotency key", error.Problems.Single(p => p.Index == 4).Message, StringComparison.Ordinal);
        Assert.Contains("job 2 ('batch-work')", error.Message, StringComparison.Ordinal);
        Assert.Empty((await runtime.Jobs.ListAsync()).Items);

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await runtime.Jobs.SubmitBatchAsync(new JobBatch()));

        // A parent that does not exist is found by the store: still nothing stored.
        var orphan = new JobBatch().Add(new BatchWork("a")).Add(new BatchWork("b"), new JobSubmitOptions { DependsOn = [JobId.New()] });
        await Assert.ThrowsAsync<JobNotFoundException>(async () => await runtime.Jobs.SubmitBatchAsync(orphan));
        Assert.Empty((await runtime.Jobs.ListAsync()).Items);
    }

    [Fact]
    public async Task AnUnknownBatch_IsNotFound()
    {
        await using var runtime = await StartAsync();
        var plain = await runtime.Jobs.SubmitAsync(new BatchWork("plain"));

        Assert.Null(await runtime.Jobs.GetBatchAsync(JobId.New()));
        Assert.Null(await runtime.Jobs.GetBatchAsync(plain));
        await Assert.ThrowsAsync<JobNotFoundException>(async () => await runtime.Jobs.CancelBatchAsync(plain));
        await Assert.ThrowsAsync<JobNotFoundException>(async () =>
        {
            await foreach (var _ in runtime.Jobs.WatchBatchAsync(JobId.New()))
            {
            }
        });
    }

    private async Task<Runtime> StartAsync(int concurrency = 4)
    {
        var services = new ServiceCollection().AddSingleton<BatchGates>();
        var builder = services.AddJobRuntime(o =>
            {
                o.MaxConcurrency = concurrency;
                o.BatchRefreshInterval = TimeSpan.FromMilliseconds(50);
            })
            .AddHandler<BatchWorkHandler>("batch-work")
            .AddHandler<BatchReportHandler>("batch-report");
        await UseStoreAsync(builder);
        return new Runtime(services.BuildServiceProvider());
    }

    private sealed class Runtime(ServiceProvider services) : IAsyncDisposable
    {
        public IJobManager Jobs => services.GetRequiredService<IJobManager>();

        public BatchGates Gates => services.GetRequiredService<BatchGates>();

        public ValueTask DisposeAsync() => services.DisposeAsync();
    }
}

public sealed record BatchWork(string Key, bool Fail = false, bool Wait = false);

public sealed record BatchReport(string Key);

/// <summary>Counts its attempts; fails or waits for its gate when told to.</summary>
public sealed class BatchWorkHandler(BatchGates gates) : IJobHandler<BatchWork, int>
{
    public async ValueTask<int> ExecuteAsync(BatchWork args, JobContext context)
    {
        var attempt = gates.CountAttempt(args.Key);
        if (args.Wait)
        {
            var gate = gates.For(args.Key);
            gate.Started.TrySetResult();
            await gate.Open.Task.WaitAsync(context.CancellationToken);
        }

        return args.Fail ? throw new InvalidOperationException($"{args.Key} failed") : attempt;
    }
}

/// <summary>A continuation: reads its batch's outcome.</summary>
public sealed class BatchReportHandler(BatchGates gates, IJobManager jobs) : IJobHandler<BatchReport, string>
{
    public async ValueTask<string> ExecuteAsync(BatchReport args, JobContext context)
    {
        gates.CountAttempt(args.Key);
        var batch = await jobs.GetBatchAsync(context.Job.BatchId!.Value, context.CancellationToken)
            ?? throw new InvalidOperationException("No batch.");
        return $"{batch.Completed}/{batch.Total} completed; not completed: {string.Join(",", batch.FailedJobs)}";
    }
}

public sealed class BatchGates
{
    private readonly ConcurrentDictionary<string, (TaskCompletionSource Started, TaskCompletionSource Open)> _gates = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new();

    public (TaskCompletionSource Started, TaskCompletionSource Open) For(string key)
        => _gates.GetOrAdd(key, _ => (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)));

    public int CountAttempt(string key) => _attempts.AddOrUpdate(key, 1, (_, n) => n + 1);

    public int Attempts(string key) => _attempts.TryGetValue(key, out var n) ? n : 0;
}
