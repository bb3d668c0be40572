using JobRuntime.TestSupport;
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace JobRuntime.PostgreSql.Tests;

/// <summary>
/// The server drops every connection of a node (pg_terminate_backend) while jobs are being claimed,
/// renewed and completed: the node reconnects, every job completes, and a job runs again only
/// after its lease was given up (a new attempt), never twice under one live lease.
/// </summary>
public sealed class ConnectionLossTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task ServerDropsTheNodesConnectionsMidFlight_EveryJobCompletes_NoneRunsTwiceUnderALiveLease()
    {
        const int Jobs = 1000;
        const int Rounds = 5;
        var server = await PostgresServer.GetAsync();
        var appName = "jr-loss-" + Guid.NewGuid().ToString("N")[..8];
        var counter = new CountingHandler.State();
        var services = new ServiceCollection().AddSingleton(counter);
        services.AddLogging(b => b.AddFakeLogging());
        services.AddJobRuntime(o =>
            {
                o.MaxConcurrency = 16;
                o.LeaseDuration = TimeSpan.FromSeconds(3);
                o.RecoveryInterval = TimeSpan.FromSeconds(1);
                o.PollInterval = TimeSpan.FromMilliseconds(200);
                o.DefaultMaxAttempts = 5;
            })
            .UsePostgreSql(o =>
            {
                o.ConnectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = appName }.ConnectionString;
                o.Schema = PostgresServer.NewSchema();
            })
            .AddHandler<CountingHandler>("count");
        await using var provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IJobManager>();

        var ids = new List<JobId>(Jobs);
        for (int i = 0; i < Jobs; i++)
        {
            ids.Add(await jobs.SubmitAsync("count", i));
        }

        // Each round lets 200 handlers through and, once half of them ran, drops every connection the
        // node holds (its pool; the listener renames itself and is covered by SignalTests) while the
        // rest of the round's completions, claims and renewals are in flight.
        var terminated = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var halfway = counter.ArmAt((round * 200) + 100);
            counter.Release(200);
            await halfway.WaitAsync(Guard);
            terminated += await TerminateAsync(server, appName);
        }

        counter.Release(Jobs);
        var snapshots = new List<JobSnapshot>(Jobs);
        foreach (var id in ids)
        {
            snapshots.Add(await jobs.WaitForCompletionAsync(id).WaitAsync(Guard));
        }

        var storeErrors = provider.GetFakeLogCollector().GetSnapshot().Count(r => r.Level >= LogLevel.Warning && r.Exception is not null);
        foreach (var g in provider.GetFakeLogCollector().GetSnapshot().Where(r => r.Exception is not null).GroupBy(r => r.Message.Split(';')[0] + " / " + r.Exception!.GetType().Name + ": " + r.Exception.Message.Split('\n')[0]))
        {
            output.WriteLine($"{g.Count()} × {g.Key}");
        }

        output.WriteLine($"connections terminated: {terminated}; store errors logged and survived: {storeErrors}; executions: {counter.Executions.Values.Sum()} for {Jobs} jobs; reruns: {counter.Executions.Count(e => e.Value > 1)}");
        Assert.True(terminated >= Rounds, $"only {terminated} connections were terminated");
        Assert.True(storeErrors > 0, "no store operation failed: the connection loss was not exercised");
        Assert.All(snapshots, s => Assert.Equal(JobStatus.Completed, s.Status));
        Assert.Equal(Jobs, counter.Executions.Count);
        foreach (var snapshot in snapshots)
        {
            var ran = counter.Executions[int.Parse(snapshot.Payload!, System.Globalization.CultureInfo.InvariantCulture)];
            Assert.True(ran <= snapshot.Attempt, $"job {snapshot.Id} ran {ran} times in {snapshot.Attempt} attempt(s)");
        }
    }

    [Fact]
    public async Task PooledConnectionsKilledWhileIdle_TheNextReadsSucceed()
    {
        // Connections the server closes while they sit in the pool fail at their next use: a read
        // runs again on a fresh connection, and the dead ones are dropped rather than handed out.
        var server = await PostgresServer.GetAsync();
        var appName = "jr-idle-" + Guid.NewGuid().ToString("N")[..8];
        var connectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = appName }.ConnectionString;
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = connectionString, Schema = PostgresServer.NewSchema() });
        var id = JobId.New();
        await store.InsertAsync(new JobSnapshot { Id = id, Type = "t", Queue = "default", Payload = "{}", CreatedAt = DateTimeOffset.UtcNow, ScheduledAt = DateTimeOffset.UtcNow });

        // Several connections in the pool, all idle, then all killed; wait until the server has ended them.
        var holders = new List<NpgsqlConnection>();
        for (var i = 0; i < 4; i++)
        {
            holders.Add(await store.DataSource.OpenConnectionAsync());
        }

        foreach (var holder in holders)
        {
            await holder.DisposeAsync();
        }

        Assert.True(await TerminateAsync(server, appName) >= 4);
        await using (var check = new NpgsqlConnection(server.ConnectionString))
        {
            await check.OpenAsync();
            await using var alive = new NpgsqlCommand("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = @name", check);
            alive.Parameters.AddWithValue("name", appName);
            while ((long)(await alive.ExecuteScalarAsync())! > 0)
            {
                await Task.Yield();
            }
        }

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(id, (await store.GetAsync(id))!.Id);
            Assert.Single((await store.ListAsync(new JobQuery())).Items);
        }
    }

    private static async Task<int> TerminateAsync(PostgresServer server, string appName)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Two steps: in one statement the planner may call pg_terminate_backend before filtering.
        var pids = new List<int>();
        await using (var find = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = @name", connection))
        {
            find.Parameters.AddWithValue("name", appName);
            await using var reader = await find.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                pids.Add(reader.GetInt32(0));
            }
        }

        var count = 0;
        foreach (var pid in pids)
        {
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", connection);
            terminate.Parameters.AddWithValue("pid", pid);
            count += await terminate.ExecuteScalarAsync() is true ? 1 : 0;
        }

        return count;
    }
}

/// <summary>Counts executions per argument; each execution waits for a permit from the test.</summary>
public sealed class CountingHandler(CountingHandler.State state) : IJobHandler<int, int>
{
    public async ValueTask<int> ExecuteAsync(int args, JobContext context)
    {
        await state.Permits.WaitAsync(context.CancellationToken);
        state.Executions.AddOrUpdate(args, 1, (_, n) => n + 1);
        state.Ran();
        await Task.Yield();
        return args;
    }

    public sealed class State
    {
        private readonly Lock _gate = new();
        private int _ran;
        private int _target = int.MaxValue;
        private TaskCompletionSource? _reached;

        public SemaphoreSlim Permits { get; } = new(0);

        public ConcurrentDictionary<int, int> Executions { get; } = new();

        public void Release(int count) => Permits.Release(count);

        /// <summary>A task that completes once <paramref name="target"/> executions have happened in all.</summary>
        public Task ArmAt(int target)
        {
            lock (_gate)
            {
                _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _target = target;
                if (_ran >= target)
                {
                    _reached.TrySetResult();
                }

                return _reached.Task;
            }
        }

        public void Ran()
        {
            lock (_gate)
            {
                if (++_ran >= _target)
                {
                    _reached?.TrySetResult();
                }
            }
        }
    }
}
