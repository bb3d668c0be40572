using JobRuntime.TestSupport;
using System.Diagnostics;
using JobRuntime.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit.Abstractions;

namespace JobRuntime.PostgreSql.Tests;

/// <summary>
/// Two nodes on one schema. Leases are long (renewal every 200 s) and polling slow (10 min), so
/// anything that arrives within the tests' guard came through NOTIFY.
/// </summary>
public sealed class SignalTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly string _schema = PostgresServer.NewSchema();
    private PostgresServer? _server;
    private ServiceProvider? _nodeA;
    private PostgreSqlJobStore? _nodeB;

    private IJobManager JobsA => _nodeA!.GetRequiredService<IJobManager>();

    private BlockingHandler.Gate GateA => _nodeA!.GetRequiredService<BlockingHandler.Gate>();

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.GetAsync();
        var services = new ServiceCollection().AddSingleton<BlockingHandler.Gate>();
        services.AddJobRuntime(o =>
            {
                o.MaxConcurrency = 2;
                o.LeaseDuration = TimeSpan.FromMinutes(10);
                o.PollInterval = TimeSpan.FromMinutes(10);
            })
            .UsePostgreSql(o =>
            {
                o.ConnectionString = _server.ConnectionString;
                o.Schema = _schema;
            })
            .AddHandler<DoubleHandler>("double")
            .AddHandler<BlockingHandler>("block")
            .AddHandler<SteppingHandler>("steps");
        services.AddSingleton<SteppingHandler.Gate>();
        services.AddLogging().AddHealthChecks().AddJobRuntime();
        _nodeA = services.BuildServiceProvider();
        _nodeB = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = _server.ConnectionString, Schema = _schema });
        await _nodeB.InitializeAsync(CancellationToken.None);

        // Start node A's runtime (it starts on first submit) and wait until it listens.
        var first = await JobsA.SubmitAsync("double", 1);
        Assert.Equal(2, await JobsA.WaitForResultAsync<int>(first).WaitAsync(Guard));
        await WaitForListenerAsync([]);
    }

    public async Task DisposeAsync()
    {
        await _nodeA!.DisposeAsync();
        await _nodeB!.DisposeAsync();
    }

    [Fact]
    public async Task HealthCheck_NamesTheLeaderAndTheListener_AndCountsTheQueues()
    {
        var health = _nodeA!.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        var worker = _nodeA!.GetRequiredService<Microsoft.Extensions.Options.IOptions<JobRuntimeOptions>>().Value.WorkerName;

        // Node A takes the leadership in its maintenance passes; taking it here as node A (the same
        // owner) makes sure it holds it now, whichever ran first, without waiting for a pass.
        Assert.True(await _nodeA!.GetRequiredService<IJobStoreLeadership>().TryLeadAsync(worker, TimeSpan.FromMinutes(5)));
        var entry = (await health.CheckHealthAsync()).Entries["jobruntime"];
        Assert.Equal(worker, entry.Data["maintenance.leader"]);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, entry.Status);
        Assert.Equal(true, entry.Data["signals.connected"]);

        var id = await JobsA.SubmitAsync("block", 7);
        await GateA.Started.Task.WaitAsync(Guard);
        entry = (await health.CheckHealthAsync()).Entries["jobruntime"];
        Assert.Equal(1L, entry.Data["queue.default.running"]);
        Assert.Equal(JobCancelOutcome.Requested, await JobsA.CancelAsync(id));
        await GateA.Cancelled.Task.WaitAsync(Guard);
    }

    [Fact]
    public async Task CancelFromAnotherNode_TripsTheRunningJobsToken()
    {
        var id = await JobsA.SubmitAsync("block", 1);
        await GateA.Started.Task.WaitAsync(Guard);

        var clock = Stopwatch.StartNew();
        Assert.Equal(JobCancelOutcome.Requested, (await _nodeB!.CancelAsync(id)).Outcome);
        await GateA.Cancelled.Task.WaitAsync(Guard);
        output.WriteLine($"cancel on node B → token tripped on node A: {clock.Elapsed.TotalMilliseconds:F1} ms");
        Assert.Equal(JobStatus.Cancelled, (await JobsA.WaitForCompletionAsync(id).WaitAsync(Guard)).Status);
    }

    [Fact]
    public async Task JobInsertedByAnotherNode_WakesTheIdleNode()
    {
        await Task.Yield();
        var job = await _nodeB!.InsertAsync(NewJob("double", "21"));
        Assert.Equal(42, await JobsA.WaitForResultAsync<int>(job.Job.Id).WaitAsync(Guard));
    }

    [Fact]
    public async Task TerminatedListeningConnection_ReconnectsAndStillReceivesWorkAndCancels()
    {
        var killed = await TerminateListenerAsync();
        Assert.Single(killed);
        await WaitForListenerAsync(killed);

        var work = await _nodeB!.InsertAsync(NewJob("double", "5"));
        Assert.Equal(10, await JobsA.WaitForResultAsync<int>(work.Job.Id).WaitAsync(Guard));

        var id = await JobsA.SubmitAsync("block", 2);
        await GateA.Started.Task.WaitAsync(Guard);
        Assert.Equal(JobCancelOutcome.Requested, (await _nodeB.CancelAsync(id)).Outcome);
        await GateA.Cancelled.Task.WaitAsync(Guard);
    }

    [Fact]
    public async Task CancelSentWhileTheListenerIsDown_ArrivesAfterItReconnects()
    {
        var id = await JobsA.SubmitAsync("block", 3);
        await GateA.Started.Task.WaitAsync(Guard);

        // The notification goes out while node A has no working listener (it reconnects after a
        // back-off of at least 100 ms); only the resync after reconnecting can deliver it before
        // the next lease renewal, 200 s away.
        var killed = await TerminateListenerAsync();
        Assert.Single(killed);
        Assert.Equal(JobCancelOutcome.Requested, (await _nodeB!.CancelAsync(id)).Outcome);
        await GateA.Cancelled.Task.WaitAsync(Guard);
        Assert.Equal(JobStatus.Cancelled, (await JobsA.WaitForCompletionAsync(id).WaitAsync(Guard)).Status);
    }

    [Fact]
    public async Task WatcherOnAnotherNode_SeesProgressLiveAndTheEnd()
    {
        // Node W serves no queue the job is in: it only watches.
        var services = new ServiceCollection();
        services.AddJobRuntime(o =>
            {
                o.Queues.Add("elsewhere");
                o.PollInterval = TimeSpan.FromMinutes(10);
            })
            .UsePostgreSql(o =>
            {
                o.ConnectionString = _server!.ConnectionString;
                o.Schema = _schema;
            })
            .AddHandler<DoubleHandler>("double");
        await using var nodeW = services.BuildServiceProvider();
        var jobsW = nodeW.GetRequiredService<IJobManager>();
        await jobsW.SubmitAsync("double", 0, new JobSubmitOptions { Queue = "elsewhere" });    // starts W's runtime
        await WaitForListenerAsync([], count: 2);

        var gate = _nodeA!.GetRequiredService<SteppingHandler.Gate>();
        var id = await JobsA.SubmitAsync("steps", 3);
        var seen = new List<JobEvent>();
        await foreach (var e in jobsW.WatchAsync(id).WithCancellation(new CancellationTokenSource(Guard).Token))
        {
            seen.Add(e);
            if (e.Kind is JobEventKind.Progress or JobEventKind.State && e.Progress?.Current == 1)
            {
                // Node A's job waits here. Step 1 arrives live, or (when node A persisted it before
                // this watch subscribed, as a loaded CI machine once did) in the stored state the
                // watch starts from; either way the end can only arrive live from node A, within
                // the guard, since W polls every 10 minutes.
                gate.Continue.TrySetResult();
            }
        }

        output.WriteLine(string.Join(" | ", seen));
        Assert.Contains(seen, e => e.Kind is JobEventKind.Progress or JobEventKind.State && e.Progress is { Current: 1, Total: 3, Stage: "stepping", Message: "step 1" });
        Assert.Equal(JobEventKind.Completed, seen[^1].Kind);
        Assert.True(gate.Continue.Task.IsCompleted);
    }

    [Fact]
    public async Task StatusNotices_ReachOtherStoresButNotTheStoreThatWroteThem()
    {
        // The writing store's runtime published its own changes as it made them; hearing them back
        // made it read each job from the server again (a claim's notice can beat the run's
        // registration). Jobs far in the future, so that node A never runs them; cancelling a
        // pending job notifies its status like a claim or an outcome does.
        await using var writer = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = _server!.ConnectionString, Schema = _schema });
        var later = DateTimeOffset.UtcNow.AddYears(1);
        var written = NewJob("double", "1") with { ScheduledAt = later };
        var marker = NewJob("double", "2") with { ScheduledAt = later };
        await writer.InsertAsync(written);
        await _nodeB!.InsertAsync(marker);
        var heardByWriter = new System.Collections.Concurrent.ConcurrentQueue<JobStoreSignal>();
        var writerHeardMarker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherHeardWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var listeningWriter = writer.ListenAsync(
            signal =>
            {
                heardByWriter.Enqueue(signal);
                if (signal is { Kind: JobStoreSignalKind.StatusChanged } && signal.JobId == marker.Id)
                {
                    writerHeardMarker.TrySetResult();
                }
            },
            stop.Token);
        var listeningOther = _nodeB.ListenAsync(
            signal =>
            {
                if (signal is { Kind: JobStoreSignalKind.StatusChanged } && signal.JobId == written.Id)
                {
                    otherHeardWritten.TrySetResult();
                }
            },
            stop.Token);
        await WaitForListenerAsync([], count: 3);

        Assert.Equal(JobCancelOutcome.Cancelled, (await writer.CancelAsync(written.Id)).Outcome);
        Assert.Equal(JobCancelOutcome.Cancelled, (await _nodeB.CancelAsync(marker.Id)).Outcome);

        // Both notices reach every listener in commit order: once the writer heard the other
        // store's, it has heard (and skipped) its own.
        await otherHeardWritten.Task.WaitAsync(Guard);
        await writerHeardMarker.Task.WaitAsync(Guard);
        Assert.DoesNotContain(heardByWriter, signal => signal.Kind == JobStoreSignalKind.StatusChanged && signal.JobId == written.Id);

        await stop.CancelAsync();
        await Task.WhenAll(listeningWriter, listeningOther);
    }

    private JobSnapshot NewJob(string type, string payload)
    {
        var now = DateTimeOffset.UtcNow;
        return new JobSnapshot
        {
            Id = JobId.New(now),
            Type = type,
            Queue = "default",
            Payload = payload,
            Status = JobStatus.Pending,
            MaxAttempts = 1,
            CreatedAt = now,
            ScheduledAt = now,
        };
    }

    private async Task<List<int>> TerminateListenerAsync()
    {
        await using var connection = new NpgsqlConnection(_server!.ConnectionString);
        await connection.OpenAsync();

        // Two steps: in one statement the planner may call pg_terminate_backend before filtering.
        var pids = new List<int>();
        await using (var find = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = @name", connection))
        {
            find.Parameters.AddWithValue("name", _nodeB!.ListenerName);
            await using var reader = await find.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                pids.Add(reader.GetInt32(0));
            }
        }

        foreach (var pid in pids)
        {
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", connection);
            terminate.Parameters.AddWithValue("pid", pid);
            Assert.Equal(true, await terminate.ExecuteScalarAsync());
        }

        return pids;
    }

    /// <summary>Waits (bounded) until <paramref name="count"/> listening connections that are not in <paramref name="gone"/> exist.</summary>
    private async Task WaitForListenerAsync(IReadOnlyCollection<int> gone, int count = 1)
    {
        await using var connection = new NpgsqlConnection(_server!.ConnectionString);
        await connection.OpenAsync();
        using var guard = new CancellationTokenSource(Guard);
        while (true)
        {
            await using (var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = @name", connection))
            {
                command.Parameters.AddWithValue("name", _nodeB!.ListenerName);
                await using var reader = await command.ExecuteReaderAsync(guard.Token);
                var live = 0;
                while (await reader.ReadAsync(guard.Token))
                {
                    if (!gone.Contains(reader.GetInt32(0)) && ++live >= count)
                    {
                        return;
                    }
                }
            }

            // Polling a server view is the only way to observe another process's connection.
            await Task.Delay(TimeSpan.FromMilliseconds(50), guard.Token);
        }
    }
}
