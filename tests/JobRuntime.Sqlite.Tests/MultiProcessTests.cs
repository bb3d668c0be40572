using JobRuntime.Storage;

namespace JobRuntime.Sqlite.Tests;

/// <summary>Real processes sharing one database file, killed with SIGKILL.</summary>
public sealed class MultiProcessTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);

    // The state waited for lives in other processes (their log files and commits), which raise no
    // event here, so the wait polls it. The poll interval only sets how soon a met condition is
    // noticed; no assertion depends on elapsed time.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private string LogPath => Path.Combine(_database.Directory, "side-effects.log");

    private async Task<List<JobId>> SubmitAsync(SqliteJobStore store, int count, Func<int, int> delayMs, int maxAttempts)
    {
        var ids = new List<JobId>(count);
        var inserts = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var now = TimeProvider.System.GetUtcNow();
            var job = new JobSnapshot
            {
                Id = JobId.New(now),
                Type = "append",
                Queue = "default",
                Payload = $$"""{"delayMs":{{delayMs(i)}}}""",
                CreatedAt = now,
                ScheduledAt = now,
                MaxAttempts = maxAttempts,
            };
            ids.Add(job.Id);
            inserts.Add(store.InsertAsync(job).AsTask());
        }

        await Task.WhenAll(inserts);
        return ids;
    }

    private Dictionary<string, int> ReadLog()
    {
        // Each worker process writes its own file, <log>.<pid>.
        var lines = new List<string>();
        foreach (var file in Directory.EnumerateFiles(_database.Directory, Path.GetFileName(LogPath) + ".*"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            lines.AddRange(reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        return lines.GroupBy(line => line).ToDictionary(g => g.Key, g => g.Count());
    }

    private int LogLines() => ReadLog().Values.Sum();

    private static async Task<Dictionary<JobId, JobSnapshot>> ReadAllAsync(SqliteJobStore store)
    {
        var all = new Dictionary<JobId, JobSnapshot>();
        var query = new JobQuery { PageSize = JobQuery.MaxPageSize };
        while (true)
        {
            var page = await store.ListAsync(query);
            foreach (var job in page.Items)
            {
                all[job.Id] = job;
            }

            if (page.NextCursor is not { } next)
            {
                return all;
            }

            query = query with { After = next };
        }
    }

    /// <summary>Waits (polling the shared files, bounded by <see cref="Patience"/>) until the condition holds.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Gave up waiting for {what}.");
            }

            await Task.Delay(PollInterval);
        }
    }

    [Fact]
    public async Task SigkillAtRandomMoments_NoJobOrResultIsLost_AndOnlyInterruptedJobsRepeat()
    {
        await using var store = new SqliteJobStore(_database.Options());
        var random = new Random(20261122);
        var ids = await SubmitAsync(store, 300, _ => random.Next(0, 30), maxAttempts: 50);
        var runningAtAKill = new HashSet<JobId>();
        var completed = new Dictionary<JobId, string>();
        var kills = 0;

        for (var round = 0; round < 12; round++)
        {
            var before = LogLines();
            using var worker = await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 4);
            var target = before + random.Next(5, 40);
            await WaitUntilAsync(async () => LogLines() >= target || (await ReadAllAsync(store)).Values.All(j => j.IsTerminal), "the worker to make progress");
            worker.Kill();
            kills++;

            foreach (var job in (await ReadAllAsync(store)).Values)
            {
                if (job.Status == JobStatus.Running)
                {
                    runningAtAKill.Add(job.Id);
                }

                if (completed.TryGetValue(job.Id, out var result))
                {
                    Assert.Equal(JobStatus.Completed, job.Status);
                    Assert.Equal(result, job.Result);
                }
                else if (job.Status == JobStatus.Completed)
                {
                    completed[job.Id] = job.Result!;
                }
            }
        }

        using (var last = await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 4))
        {
            await WaitUntilAsync(async () => (await ReadAllAsync(store)).Values.All(j => j.IsTerminal), "every job to finish");
        }

        var final = await ReadAllAsync(store);
        var log = ReadLog();
        Assert.True(kills >= 10);
        Assert.Equal(ids.Count, final.Count);
        Assert.All(final.Values, job => Assert.Equal(JobStatus.Completed, job.Status));
        Assert.All(completed, kv => Assert.Equal(kv.Value, final[kv.Key].Result));
        Assert.All(ids, id => Assert.True(log.ContainsKey(id.ToString()), $"job {id} never ran"));
        var repeated = log.Where(kv => kv.Value > 1).Select(kv => JobId.Parse(kv.Key)).ToList();
        Assert.All(repeated, id => Assert.Contains(id, runningAtAKill));
        Assert.NotEmpty(runningAtAKill);
    }

    [Fact]
    public async Task ThreeProcessesRunningTheSameRecurringJobs_MakeOneJobPerOccurrence_EvenWhenOneIsKilled()
    {
        // Ten every-second recurring jobs, registered by each of three processes sharing the file;
        // one process is killed with SIGKILL half way.
        await using var store = new SqliteJobStore(_database.Options());
        var environment = new Dictionary<string, string> { ["JOBRUNTIME_SCHEDULES"] = "10" };
        var workers = new List<WorkerProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                workers.Add(await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 4, environment));
            }

            await WaitUntilAsync(async () => (await JobRuntime.TestSupport.RecurringRuns.ReadAsync(store)).Count >= 100, "100 occurrences");
            workers[0].Kill();
            await WaitUntilAsync(async () => (await JobRuntime.TestSupport.RecurringRuns.ReadAsync(store)).Count >= 250, "250 occurrences");
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Dispose();
            }
        }

        var jobs = await JobRuntime.TestSupport.RecurringRuns.ReadAsync(store);
        var occurrences = JobRuntime.TestSupport.RecurringRuns.AssertOneJobPerOccurrence(jobs, schedules: 10, TimeSpan.FromSeconds(1));
        Assert.True(occurrences >= 250);
    }

    [Fact]
    public async Task CancelFromAnotherProcess_StopsTheRunningJobWithoutWaitingForItsLease()
    {
        // A 10-minute lease renews every 200 s: only the store's change check can bring these
        // cancels within the test's patience.
        await using var store = new SqliteJobStore(_database.Options());
        using var worker = await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 4, new Dictionary<string, string> { ["JOBRUNTIME_LEASE_SECONDS"] = "600" });
        var latencies = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            var id = (await SubmitAsync(store, 1, _ => 600_000, maxAttempts: 1))[0];
            await WaitUntilAsync(() => Task.FromResult(ReadLog().ContainsKey(id.ToString())), "the job to start");

            var asked = System.Diagnostics.Stopwatch.StartNew();
            Assert.Equal(JobCancelOutcome.Requested, (await store.CancelAsync(id)).Outcome);
            await WaitUntilAsync(async () => (await store.GetAsync(id))!.IsTerminal, "the cancelled job to end");
            latencies.Add(asked.Elapsed.TotalMilliseconds);
            Assert.Equal(JobStatus.Cancelled, (await store.GetAsync(id))!.Status);
        }

        Console.WriteLine($"cross-process cancel → Cancelled stored, ms: {string.Join(", ", latencies.Select(l => l.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}");
    }

    [Fact]
    public async Task Sigterm_WithAJobRunning_HandsItBackWithinTheHostsShutdownTimeout_BeforeThePlatformKills()
    {
        // The platform's side, as Kubernetes does it: SIGTERM, then SIGKILL when the grace period
        // (here the host's own shutdown timeout, 12 s) is over. The job stops 2 s after its token
        // trips. The runtime must cancel it early enough (12 − 5 s cancellation grace − 1 s) that it
        // is handed back before the kill; waiting out its own ShutdownTimeout (30 s) would leave it
        // Running, to be re-run only after its lease expires.
        await using var store = new SqliteJobStore(_database.Options());
        var id = (await SubmitAsync(store, 1, _ => 600_000, maxAttempts: 1))[0];
        var grace = TimeSpan.FromSeconds(12);
        using var worker = await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 1, new Dictionary<string, string>
        {
            ["JOBRUNTIME_HOST_SHUTDOWN_SECONDS"] = "12",
            ["JOBRUNTIME_CLEANUP_MS"] = "2000",
            ["JOBRUNTIME_LEASE_SECONDS"] = "600",
        });
        await WaitUntilAsync(() => Task.FromResult(ReadLog().ContainsKey(id.ToString())), "the job to start");

        worker.Terminate();
        using (var platform = new CancellationTokenSource(grace))
        {
            try
            {
                await worker.WaitForExitAsync(platform.Token);
            }
            catch (OperationCanceledException)
            {
                worker.Kill();
            }
        }

        Assert.True(worker.HasExited);
        Assert.Equal(0, worker.ExitCode);
        var job = (await store.GetAsync(id))!;
        Assert.Equal(JobStatus.Pending, job.Status);
        Assert.Null(job.Owner);
    }

    [Fact]
    public async Task CancelRequestedWhileTheWorkerIsPaused_ThenTheWorkerIsKilled_TheJobEndsCancelledAndNeverRunsAgain()
    {
        await using var store = new SqliteJobStore(_database.Options());
        var ids = await SubmitAsync(store, 4, _ => 600_000, maxAttempts: 3);
        using (var zombie = await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 4))
        {
            await WaitUntilAsync(() => Task.FromResult(ids.All(id => ReadLog().ContainsKey(id.ToString()))), "the jobs to start");
            zombie.Pause();
            foreach (var id in ids)
            {
                Assert.Equal(JobCancelOutcome.Requested, (await store.CancelAsync(id)).Outcome);
            }

            zombie.Kill();
        }

        // Another worker recovers the expired leases (2 s): the stored requests win over the attempts left.
        using (var rescuer = await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 4))
        {
            await WaitUntilAsync(async () => (await ReadAllAsync(store)).Values.All(j => j.IsTerminal), "recovery to end the jobs");
        }

        var final = await ReadAllAsync(store);
        Assert.All(ids, id => Assert.Equal(JobStatus.Cancelled, final[id].Status));
        Assert.All(ids, id => Assert.Equal(1, ReadLog()[id.ToString()]));
    }

    [Fact]
    public async Task TwoProcessesSharingOneFile_Run2000JobsEachExactlyOnce()
    {
        await using var store = new SqliteJobStore(_database.Options());

        // 5 ms each: one worker alone would need 2.5 s, longer than the second takes to start, so both
        // take part (no-op jobs were all done by the first before the second was up).
        var ids = await SubmitAsync(store, 2000, _ => 5, maxAttempts: 1);

        using (var first = await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 4))
        using (var second = await WorkerProcess.StartAsync(_database.Path, LogPath, concurrency: 4))
        {
            await WaitUntilAsync(async () => (await ReadAllAsync(store)).Values.All(j => j.IsTerminal), "every job to finish");
        }

        var final = await ReadAllAsync(store);
        Assert.All(final.Values, job => Assert.Equal(JobStatus.Completed, job.Status));
        var log = ReadLog();
        Assert.Equal(ids.Count, log.Count);
        Assert.All(log, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(2, final.Values.Select(j => j.Owner).Distinct().Count());
    }
}
