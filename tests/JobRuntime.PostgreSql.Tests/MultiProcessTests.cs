using JobRuntime.TestSupport;
using JobRuntime.Storage;
using Npgsql;
using Xunit.Abstractions;

namespace JobRuntime.PostgreSql.Tests;

/// <summary>Real worker processes sharing one schema; side effects logged per process.</summary>
public sealed class MultiProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(5);
    private readonly string _schema = PostgresServer.NewSchema();
    private readonly string _dir = Directory.CreateTempSubdirectory("jr-pg-mp-").FullName;

    private string Log => Path.Combine(_dir, "effects");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ThreeWorkersAndASubmitter_RunEveryJobExactlyOnce()
    {
        var server = await PostgresServer.GetAsync();
        await using var store = await CreateStoreAsync(server);
        var workers = new List<ChildProcess>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                workers.Add(await ChildProcess.StartWorkerAsync(server.ConnectionString, _schema, Log, concurrency: 8, TimeSpan.FromSeconds(30)));
            }

            const int Jobs = 5000;
            var submitted = await ChildProcess.RunAsync("submit", server.ConnectionString, _schema, Jobs.ToString(System.Globalization.CultureInfo.InvariantCulture), "0");
            Assert.Contains("submitted", submitted);
            await WaitUntilAsync(server, $"SELECT COUNT(*) FROM \"{_schema}\".jobs WHERE status = 2", Jobs);

            var runs = ReadLog("run");
            Assert.Equal(Jobs, runs.Count);
            Assert.Equal(Jobs, runs.Select(r => r.Id).Distinct().Count());
            var perWorker = runs.GroupBy(r => r.Pid).ToDictionary(g => g.Key, g => g.Count());
            output.WriteLine("jobs per worker: " + string.Join(", ", perWorker.Values));
            Assert.Equal(3, perWorker.Count);
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SigkilledWorker_ItsJobsAreRescuedRunOnceMore_AndItsLateCompletionIsRejected()
    {
        var server = await PostgresServer.GetAsync();
        await using var store = await CreateStoreAsync(server);
        var lease = TimeSpan.FromSeconds(2);
        var victim = await ChildProcess.StartWorkerAsync(server.ConnectionString, _schema, Log, concurrency: 4, lease);
        await using var survivor = await ChildProcess.StartWorkerAsync(server.ConnectionString, _schema, Log, concurrency: 4, lease);
        try
        {
            // Long jobs, so that both workers hold some when the victim dies.
            await ChildProcess.RunAsync("submit", server.ConnectionString, _schema, "16", "3000");
            await WaitUntilAsync(server, $"SELECT COUNT(DISTINCT owner) FROM \"{_schema}\".jobs WHERE status = 1", 2);

            // The victim's leases as they are now: what a zombie would use to complete late.
            var held = await ReadLeasesAsync(server, victim.Id);
            Assert.NotEmpty(held);
            foreach (var (id, _) in held)
            {
                // Its handler has started (and written its side effect) in the victim.
                await WaitForLogAsync($"run {id}");
            }

            var killedAt = DateTimeOffset.UtcNow;
            victim.Kill();
            await WaitUntilAsync(server, $"SELECT COUNT(*) FROM \"{_schema}\".jobs WHERE status = 2", 16);
            output.WriteLine($"{held.Count} jobs held by the killed worker; all 16 completed {(DateTimeOffset.UtcNow - killedAt).TotalSeconds:F1} s after the kill (lease {lease.TotalSeconds} s)");

            var runs = ReadLog("run");
            var victimPid = victim.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var survivorPid = survivor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(16, runs.Select(r => r.Id).Distinct().Count());
            foreach (var group in runs.GroupBy(r => r.Id))
            {
                // At most once per process; twice only if the victim died running it, and then the
                // survivor's run is the one recorded.
                Assert.True(group.Count(r => r.Pid == victimPid) <= 1 && group.Count(r => r.Pid == survivorPid) <= 1, $"job {group.Key} ran {group.Count()} times");
                if (group.Count() == 2)
                {
                    Assert.Contains($":{survivorPid}:", (await store.GetAsync(new JobId(Guid.ParseExact(group.Key, "N"))))!.Owner, StringComparison.Ordinal);
                }
            }

            foreach (var (id, _) in held)
            {
                // Killed mid-job: run by the victim and once more by the survivor.
                Assert.Single(runs, r => r.Id == id.ToString() && r.Pid == victimPid);
                Assert.Single(runs, r => r.Id == id.ToString() && r.Pid == survivorPid);
            }

            foreach (var (id, token) in held)
            {
                var late = await store.CompleteAsync(new JobLease(id, "zombie", token, killedAt + lease), JobCompletion.Completed("\"late\""));
                Assert.False(late.Accepted);
                Assert.NotEqual("\"late\"", (await store.GetAsync(id))!.Result);
            }
        }
        finally
        {
            await victim.DisposeAsync();
        }
    }

    [Fact]
    public async Task FourNodesRunningTheSameRecurringJobs_MakeOneJobPerOccurrence_EvenWhenOneIsKilled()
    {
        // Ten every-second recurring jobs, registered by each of four worker processes on one schema;
        // one node is killed with SIGKILL half way.
        var server = await PostgresServer.GetAsync();
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = _schema });
        var nodes = new List<ChildProcess>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                nodes.Add(await ChildProcess.StartWorkerAsync(server.ConnectionString, _schema, Log, concurrency: 4, TimeSpan.FromSeconds(10), recurringJobs: 10));
            }

            var countSql = $"SELECT COUNT(*) FROM \"{_schema}\".jobs WHERE EXISTS (SELECT 1 FROM unnest(tags) AS tag WHERE tag LIKE 'schedule:%')";
            await WaitUntilAsync(server, countSql, 100);
            nodes[0].Kill();
            await WaitUntilAsync(server, countSql, 250);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }

        var jobs = await RecurringRuns.ReadAsync(store);
        var occurrences = RecurringRuns.AssertOneJobPerOccurrence(jobs, schedules: 10, TimeSpan.FromSeconds(1));
        var lags = jobs.Select(j => (j.CreatedAt - j.ScheduledAt).TotalMilliseconds).Order().ToList();
        output.WriteLine($"{occurrences} occurrences, one job each; job made after its fire time: p50 {lags[lags.Count / 2]:0} ms, max {lags[^1]:0} ms (the killed node's pending ones included)");
        Assert.True(occurrences >= 250);
    }

    [Fact]
    public async Task CancelFromAnotherProcess_IsObservedByTheRunningHandler()
    {
        var server = await PostgresServer.GetAsync();
        await using var store = await CreateStoreAsync(server);
        await using var worker = await ChildProcess.StartWorkerAsync(server.ConnectionString, _schema, Log, concurrency: 2, TimeSpan.FromMinutes(10));
        var now = DateTimeOffset.UtcNow;
        var job = await store.InsertAsync(new JobSnapshot
        {
            Id = JobId.New(now), Type = "block", Queue = "default", Payload = "1", Status = JobStatus.Pending, MaxAttempts = 1, CreatedAt = now, ScheduledAt = now,
        });
        await WaitForLogAsync($"started {job.Job.Id}");

        var requestedAt = DateTimeOffset.UtcNow;
        Assert.Equal(JobCancelOutcome.Requested, (await store.CancelAsync(job.Job.Id)).Outcome);
        var line = await WaitForLogAsync($"cancelled {job.Job.Id}");
        var observedAt = new DateTimeOffset(long.Parse(line.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Zero);
        output.WriteLine($"cancel requested here → handler in the worker process saw its token trip: {(observedAt - requestedAt).TotalMilliseconds:F1} ms (lease renewal every 200 s, so this came through NOTIFY)");
        await WaitUntilAsync(server, $"SELECT COUNT(*) FROM \"{_schema}\".jobs WHERE status = 4", 1);
    }

    [Fact]
    public async Task CancelRequestedWhileTheWorkerIsPaused_ThenTheWorkerIsKilled_TheJobsEndCancelledAndNeverRunAgain()
    {
        var server = await PostgresServer.GetAsync();
        await using var store = await CreateStoreAsync(server);
        var lease = TimeSpan.FromSeconds(2);
        var ids = new List<JobId>();
        await using (var zombie = await ChildProcess.StartWorkerAsync(server.ConnectionString, _schema, Log, concurrency: 4, lease))
        {
            for (var i = 0; i < 3; i++)
            {
                var now = DateTimeOffset.UtcNow;
                ids.Add((await store.InsertAsync(new JobSnapshot
                {
                    Id = JobId.New(now), Type = "block", Queue = "default", Payload = "1", Status = JobStatus.Pending, MaxAttempts = 3, CreatedAt = now, ScheduledAt = now,
                })).Job.Id);
            }

            foreach (var id in ids)
            {
                await WaitForLogAsync($"started {id}");
            }

            // Paused, it cannot hear the cancels; killed, it never will. The requests are stored.
            zombie.Pause();
            foreach (var id in ids)
            {
                Assert.Equal(JobCancelOutcome.Requested, (await store.CancelAsync(id)).Outcome);
            }

            zombie.Kill();
        }

        // Another worker recovers the expired leases: the stored requests win over the attempts left.
        await using var rescuer = await ChildProcess.StartWorkerAsync(server.ConnectionString, _schema, Log, concurrency: 4, lease);
        await WaitUntilAsync(server, $"SELECT COUNT(*) FROM \"{_schema}\".jobs WHERE status = 4", ids.Count);
        var starts = ReadLog("started");
        Assert.All(ids, id => Assert.Single(starts, s => s.Id == id.ToString()));
        foreach (var id in ids)
        {
            Assert.Equal("Cancelled", (await store.GetAsync(id))!.Error!.Type);
        }
    }

    [Fact]
    public async Task SameIdempotencyKeyFromThreeProcesses_MakesOneJob()
    {
        var server = await PostgresServer.GetAsync();
        await using var store = await CreateStoreAsync(server);
        for (int round = 0; round < 3; round++)
        {
            var key = $"nightly-export-{round}";
            var outputs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => ChildProcess.RunAsync("submit-key", server.ConnectionString, _schema, key)));
            var lines = outputs.Select(o => o.Single()).ToArray();
            Assert.Single(lines, l => l.EndsWith(" created", StringComparison.Ordinal));
            Assert.Single(lines.Select(l => l.Split(' ')[0]).Distinct());
        }
    }

    private async Task<PostgreSqlJobStore> CreateStoreAsync(PostgresServer server)
    {
        var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = _schema });
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    private async Task<List<(JobId Id, Guid Token)>> ReadLeasesAsync(PostgresServer server, int pid)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT id, lease_token FROM \"{_schema}\".jobs WHERE status = 1 AND owner LIKE @owner", connection);
        command.Parameters.AddWithValue("owner", $"%:{pid}:%");
        var leases = new List<(JobId, Guid)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            leases.Add((new JobId(reader.GetGuid(0)), reader.GetGuid(1)));
        }

        return leases;
    }

    private List<(string Id, string Pid)> ReadLog(string kind)
    {
        var entries = new List<(string, string)>();
        foreach (var file in Directory.GetFiles(_dir, "effects.*"))
        {
            var pid = Path.GetExtension(file).TrimStart('.');
            foreach (var line in File.ReadAllLines(file))
            {
                var parts = line.Split(' ');
                if (parts[0] == kind)
                {
                    entries.Add((parts[1], pid));
                }
            }
        }

        return entries;
    }

    private async Task<string> WaitForLogAsync(string prefix)
    {
        using var guard = new CancellationTokenSource(Guard);
        while (true)
        {
            foreach (var file in Directory.GetFiles(_dir, "effects.*"))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync(guard.Token) is { } line)
                {
                    if (line.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        return line;
                    }
                }
            }

            // Another process writes the log: polling the file is how this process sees it.
            await Task.Delay(TimeSpan.FromMilliseconds(20), guard.Token);
        }
    }

    private static async Task WaitUntilAsync(PostgresServer server, string countSql, long expected)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        using var guard = new CancellationTokenSource(Guard);
        while (true)
        {
            await using var command = new NpgsqlCommand(countSql, connection);
            if (Convert.ToInt64(await command.ExecuteScalarAsync(guard.Token), System.Globalization.CultureInfo.InvariantCulture) >= expected)
            {
                return;
            }

            // Other processes do the work: polling the database is how this process sees it.
            await Task.Delay(TimeSpan.FromMilliseconds(100), guard.Token);
        }
    }
}
