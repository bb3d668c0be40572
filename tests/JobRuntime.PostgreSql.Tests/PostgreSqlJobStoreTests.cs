using JobRuntime.TestSupport;
using JobRuntime.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobRuntime.PostgreSql.Tests;

public sealed class PostgreSqlJobStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ManyNodesStartingAtOnce_CreateTheSchemaOnce()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var stores = Enumerable.Range(0, 8).Select(_ => new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema })).ToArray();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync(CancellationToken.None))));
            await using var connection = new NpgsqlConnection(server.ConnectionString);
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand($"SELECT COUNT(*) FROM \"{schema}\".migrations", connection);
            Assert.Equal((long)PostgreSqlJobStore.SchemaVersion, await count.ExecuteScalarAsync());
            await using var table = new NpgsqlCommand("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = @s AND table_name = 'jobs'", connection);
            table.Parameters.AddWithValue("s", schema);
            Assert.Equal(1L, await table.ExecuteScalarAsync());
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task BatchedInsert_AJobTheServerRefuses_FailsAloneAndTheRestAreStored()
    {
        // PostgreSQL's text cannot hold a NUL character (SQLSTATE 22021): the batch's one statement
        // fails, and the store answers each job on its own.
        var server = await PostgresServer.GetAsync();
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = PostgresServer.NewSchema() });
        var jobs = Enumerable.Range(0, 6).Select(i => NewJob(0) with { Payload = i == 3 ? "{\"text\":\"a\u0000b\"}" : $"{{\"i\":{i}}}" }).ToList();

        var outcomes = await store.InsertTogetherAsync(jobs);

        for (var i = 0; i < jobs.Count; i++)
        {
            if (i == 3)
            {
                Assert.Null(outcomes[i].Result);
                var error = Assert.IsType<PostgreSqlJobStoreException>(outcomes[i].Error);
                Assert.Contains("22021", error.Message, StringComparison.Ordinal);
                Assert.Null(await store.GetAsync(jobs[i].Id));
            }
            else
            {
                Assert.Null(outcomes[i].Error);
                Assert.True(outcomes[i].Result!.Created);
                Assert.Equal(jobs[i].Payload, (await store.GetAsync(jobs[i].Id))!.Payload);
            }
        }
    }

    [Fact]
    public async Task BatchedInsert_AnIdTakenBeforeOrEarlierInTheBatch_IsRefusedForThatJobOnly()
    {
        var server = await PostgresServer.GetAsync();
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = PostgresServer.NewSchema() });
        var existing = NewJob(0);
        await store.InsertAsync(existing);
        var fresh = NewJob(0);
        var jobs = new[] { NewJob(1), existing with { Payload = "{\"again\":true}" }, fresh, fresh with { Priority = 9 } };

        var outcomes = await store.InsertTogetherAsync(jobs);

        Assert.True(outcomes[0].Result!.Created);
        Assert.Contains(existing.Id.ToString(), Assert.IsType<ArgumentException>(outcomes[1].Error).Message, StringComparison.Ordinal);
        Assert.True(outcomes[2].Result!.Created);
        Assert.Contains(fresh.Id.ToString(), Assert.IsType<ArgumentException>(outcomes[3].Error).Message, StringComparison.Ordinal);
        Assert.Equal(existing.Payload, (await store.GetAsync(existing.Id))!.Payload);
        Assert.Equal(0, (await store.GetAsync(fresh.Id))!.Priority);
    }

    [Fact]
    public async Task BatchedInsert_IdempotencyKeys_AnswerWithTheLiveHolderAndTagsRoundTrip()
    {
        var server = await PostgresServer.GetAsync();
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = PostgresServer.NewSchema() });
        var holder = NewJob(0) with { IdempotencyKey = "held" };
        await store.InsertAsync(holder);
        var first = NewJob(0) with { IdempotencyKey = "fresh", Tags = ["a", "b c", "ü\"d"] };
        var jobs = new[] { first, NewJob(0) with { IdempotencyKey = "fresh" }, NewJob(0) with { IdempotencyKey = "held" } };

        var outcomes = await store.InsertTogetherAsync(jobs);

        Assert.All(outcomes, o => Assert.Null(o.Error));
        Assert.True(outcomes[0].Result!.Created);
        Assert.Equal((false, first.Id), (outcomes[1].Result!.Created, outcomes[1].Result!.Job.Id));
        Assert.Equal((false, holder.Id), (outcomes[2].Result!.Created, outcomes[2].Result!.Job.Id));
        Assert.Null(await store.GetAsync(jobs[1].Id));
        Assert.Null(await store.GetAsync(jobs[2].Id));
        Assert.Equal(["a", "b c", "ü\"d"], (await store.GetAsync(first.Id))!.Tags);
    }

    [Fact]
    public async Task ConcurrentPlainSubmits_AreAllStoredOnce()
    {
        var server = await PostgresServer.GetAsync();
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = PostgresServer.NewSchema() });
        var jobs = Enumerable.Range(0, 300).Select(i => NewJob(i % 3)).ToList();

        var results = await Task.WhenAll(jobs.Select(job => Task.Run(async () => await store.InsertAsync(job))));

        Assert.All(results, r => Assert.True(r.Created));
        Assert.Equal(jobs.Select(j => j.Id).Order(), results.Select(r => r.Job.Id).Order());
        var page = await store.ListAsync(new JobQuery { PageSize = 500 });
        Assert.Equal(jobs.Select(j => j.Id).Order(), page.Items.Select(j => j.Id).Order());
    }

    [Theory]
    [InlineData("Host=db;Username=jobs", 32)]
    [InlineData("Host=db;Username=jobs;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;MaxAutoPrepare=7;Username=jobs", 7)]
    [InlineData("host=db;max auto prepare=5", 5)]
    public void ConnectionString_GetsStatementPreparation_UnlessItSetsIt(string connectionString, int expected)
        => Assert.Equal(expected, new NpgsqlConnectionStringBuilder(PostgreSqlJobStore.WithStoreDefaults(connectionString)).MaxAutoPrepare);

    [Fact]
    public async Task StoreConnections_PrepareARepeatedStatement()
    {
        // The store's own data source: a statement run a few times on a connection is prepared,
        // so PostgreSQL no longer parses it for every claim and completion.
        var server = await PostgresServer.GetAsync();
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = PostgresServer.NewSchema() });
        await using var connection = await store.DataSource.OpenConnectionAsync();
        var prepared = false;
        for (var i = 0; i < 10 && !prepared; i++)
        {
            await using var command = new NpgsqlCommand("SELECT @n::int + 1", connection);
            command.Parameters.AddWithValue("n", i);
            Assert.Equal(i + 1, await command.ExecuteScalarAsync());
            prepared = command.IsPrepared;
        }

        Assert.True(prepared);
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements", connection);
        Assert.True((long)(await count.ExecuteScalarAsync())! >= 1);
    }

    [Fact]
    public async Task VersionTwoSchema_IsMigratedAndKeepsItsJobs()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var options = new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema };
        var ready = NewJob(0);
        var delayed = NewJob(0) with { ScheduledAt = new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero) };
        await using (var first = new PostgreSqlJobStore(options))
        {
            await first.InsertAsync(ready);
            await first.InsertAsync(delayed);
        }

        // Put the schema back to version 2 as that release left it: its two indexes, no migration 3.
        await ExecuteAsync(server, $"""
            DROP INDEX "{schema}".jobs_delayed;
            CREATE INDEX jobs_due ON "{schema}".jobs (scheduled_at) WHERE status = 0 AND pending_parents = 0;
            DROP INDEX "{schema}".jobs_list;
            CREATE INDEX jobs_list ON "{schema}".jobs (status, type, created_at);
            DROP INDEX "{schema}".jobs_ready_queue;
            DROP TABLE "{schema}".schedules;
            ALTER TABLE "{schema}".jobs DROP COLUMN attempt_errors;
            ALTER TABLE "{schema}".jobs DROP COLUMN cached_from;
            ALTER TABLE "{schema}".jobs DROP COLUMN batch_id;
            ALTER TABLE "{schema}".jobs DROP COLUMN retry;
            DELETE FROM "{schema}".migrations WHERE version >= 3;
            """);

        await using var upgraded = new PostgreSqlJobStore(options);
        var claimed = await upgraded.ClaimAsync(new ClaimRequest("w", 10, TimeSpan.FromMinutes(1)));

        Assert.Equal(ready.Id, Assert.Single(claimed.Jobs).Job.Id);
        Assert.Equal(delayed.ScheduledAt.UtcTicks, claimed.NextDueAt?.UtcTicks);
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var version = new NpgsqlCommand($"SELECT MAX(version) FROM \"{schema}\".migrations", connection);
        Assert.Equal(PostgreSqlJobStore.SchemaVersion, await version.ExecuteScalarAsync());
        await using var indexes = new NpgsqlCommand("SELECT string_agg(indexname || ': ' || indexdef, '; ') FROM pg_indexes WHERE schemaname = @s", connection);
        indexes.Parameters.AddWithValue("s", schema);
        var definitions = (string)(await indexes.ExecuteScalarAsync())!;
        Assert.DoesNotContain("jobs_due", definitions, StringComparison.Ordinal);
        Assert.Contains("status <> 1", definitions, StringComparison.Ordinal);
        Assert.Contains("jobs_ready_queue", definitions, StringComparison.Ordinal);
        Assert.Contains("schedules_due", definitions, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ManyDeadRows_TheStoreAnalysesAndVacuumsTheJobsTable_UnlessVacuumIsTurnedOff(bool vacuum)
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema, VacuumJobsTable = vacuum });
        await store.InitializeAsync(CancellationToken.None);
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        async Task<object?> Run(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            return await command.ExecuteScalarAsync();
        }

        await Run(DeadRowsSql(schema));
        var counters = $"SELECT analyze_count || '/' || vacuum_count FROM pg_stat_user_tables WHERE relid = '\"{schema}\".jobs'::regclass";
        Assert.Equal("0/0", await Run(counters));

        Assert.Equal((true, vacuum), await store.MaintainTableAsync());

        Assert.Equal(vacuum ? "1/1" : "1/0", await Run(counters));
        Assert.Equal(6000L, await Run($"SELECT COUNT(*) FROM \"{schema}\".jobs WHERE priority = 1"));
    }

    [Fact]
    public async Task ManyDeadRows_ARoleThatDoesNotOwnTheTable_LeavesItToAutovacuum()
    {
        // PostgreSQL lets only the owner (or a superuser) analyse or vacuum a table; anyone else gets
        // a warning in the server log, which the store must not cause every few seconds.
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        await CreateSchemaAsync(server, schema);

        var role = "r_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync(server, $"CREATE ROLE {role} LOGIN");
        // The data, not the table.
        await ExecuteAsync(server, $"GRANT USAGE ON SCHEMA \"{schema}\" TO {role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{schema}\" TO {role}");
        await ExecuteAsync(server, DeadRowsSql(schema));
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var counters = new NpgsqlCommand($"SELECT analyze_count || '/' || vacuum_count || '/' || n_dead_tup FROM pg_stat_user_tables WHERE relid = '\"{schema}\".jobs'::regclass", connection);
        Assert.Equal("0/0/6000", await counters.ExecuteScalarAsync());

        var limited = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Username = role }.ConnectionString;
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = limited, Schema = schema });
        // PostgreSQL would skip both (with a warning) and the counters would not move either way:
        // what the store attempted is the point.
        Assert.Equal((false, false), await store.MaintainTableAsync());
        Assert.Equal("0/0/6000", await counters.ExecuteScalarAsync());
    }

    [Fact]
    public async Task RoleWithDataRightsOnly_StartsOnASchemaMigratedByAnotherRole_AndRunsJobs()
    {
        // A deployment that migrates with one role and runs with another: no CREATE on the database
        // or the schema, only the data. Start-up used to run CREATE SCHEMA IF NOT EXISTS, which
        // PostgreSQL checks against CREATE on the database even when the schema exists.
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        await CreateSchemaAsync(server, schema);
        var role = "r_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync(server, $"CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA \"{schema}\" TO {role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{schema}\" TO {role}");

        var services = new ServiceCollection();
        services.AddJobRuntime()
            .UsePostgreSql(o =>
            {
                o.ConnectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Username = role }.ConnectionString;
                o.Schema = schema;
            })
            .AddHandler<DoubleHandler>("double");
        await using var provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IJobManager>();

        var id = await jobs.SubmitAsync("double", 21);

        Assert.Equal(42, await jobs.WaitForResultAsync<int>(id).WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task NewerSchemaVersion_IsRefusedClearly()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        await CreateSchemaAsync(server, schema);

        await ExecuteAsync(server, $"INSERT INTO \"{schema}\".migrations (version) VALUES (99)");
        await using var second = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema });
        var ex = await Assert.ThrowsAsync<PostgreSqlJobStoreException>(() => second.InitializeAsync(CancellationToken.None));
        Assert.Contains("version 99", ex.Message, StringComparison.Ordinal);
        Assert.Contains("newer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RoleWithoutCreatePermission_FailsAtStartUpWithAClearError_AndStartsOnceGranted()
    {
        var server = await PostgresServer.GetAsync();
        var role = "r_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync(server, $"CREATE ROLE {role} LOGIN");
        var limited = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Username = role }.ConnectionString;
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = limited, Schema = PostgresServer.NewSchema() });
        var ex = await Assert.ThrowsAsync<PostgreSqlJobStoreException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Contains("refused permission", ex.Message, StringComparison.Ordinal);
        Assert.IsType<PostgresException>(ex.InnerException);

        // Once the fault is fixed, the same store starts without being recreated.
        await ExecuteAsync(server, $"GRANT CREATE ON DATABASE postgres TO {role}");
        await store.InitializeAsync(CancellationToken.None);
        Assert.Null(await store.GetAsync(JobId.New()));
    }

    [Fact]
    public async Task UnreachableServer_FailsWithAClearError()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Timeout=5" });
        var ex = await Assert.ThrowsAsync<PostgreSqlJobStoreException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Contains("could not be reached", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStart_BadStoreOptions_FailsWithEveryErrorAtOnce()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddJobRuntime().UsePostgreSql(o =>
        {
            o.ConnectionString = null;
            o.Schema = "Bad-Name";
            o.NotifyDebounce = TimeSpan.FromSeconds(-1);
            o.ListenKeepAlive = TimeSpan.Zero;
        });
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());
        Assert.Equal(4, error.Failures.Count());
        foreach (var option in new[] { "ConnectionString", "Schema", "NotifyDebounce", "ListenKeepAlive" })
        {
            Assert.Contains(error.Failures, f => f.StartsWith(option, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task DataSourceInDI_NeedsNoConnectionString()
    {
        var server = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);
        var services = new ServiceCollection().AddSingleton(dataSource);
        services.AddJobRuntime().UsePostgreSql(o => o.Schema = PostgresServer.NewSchema()).AddHandler<DoubleHandler>("double");
        await using var provider = services.BuildServiceProvider();

        var jobs = provider.GetRequiredService<IJobManager>();
        Assert.Equal(8, await jobs.WaitForResultAsync<int>(await jobs.SubmitAsync("double", 4)));
    }

    [Fact]
    public void BadSchemaName_IsRejected()
    {
        Assert.Throws<ArgumentException>(() => new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = "Host=127.0.0.1", Schema = "x\"; DROP TABLE y; --" }));
        Assert.Throws<ArgumentException>(() => new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = " " }));
    }

    [Fact]
    public async Task Leadership_OneNodeAtATime_TakenOverAfterExpiryOrResignation()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now);
        await using var a = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema }, time);
        await using var b = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema }, time);
        var ttl = TimeSpan.FromSeconds(10);

        Assert.True(await a.TryLeadAsync("node-a", ttl));
        Assert.False(await b.TryLeadAsync("node-b", ttl));
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.True(await a.TryLeadAsync("node-a", ttl));     // renewed: now expires 16 s after the start
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.False(await b.TryLeadAsync("node-b", ttl));    // still a's
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await b.TryLeadAsync("node-b", ttl));     // a stopped renewing: expired
        Assert.False(await a.TryLeadAsync("node-a", ttl));

        await b.ResignAsync("node-b");
        Assert.True(await a.TryLeadAsync("node-a", ttl));     // at once after resignation
        await b.ResignAsync("node-b");                         // not the leader: no effect
        Assert.False(await b.TryLeadAsync("node-b", ttl));

        // Many nodes asking at once: exactly one wins.
        await a.ResignAsync("node-a");
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema }, time)).ToArray();
        try
        {
            var wins = await Task.WhenAll(stores.Select((s, i) => Task.Run(async () => await s.TryLeadAsync($"node-{i}", ttl))));
            Assert.Single(wins, w => w);
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task FourNodesClaimingAtOnce_ClaimEveryJobExactlyOnce()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now);
        var nodes = Enumerable.Range(0, 4).Select(_ => new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema }, time)).ToArray();
        try
        {
            const int Jobs = 2000;
            for (int i = 0; i < Jobs; i++)
            {
                await nodes[i % 4].InsertAsync(NewJob(i % 5));
            }

            var claimed = await Task.WhenAll(nodes.Select((node, n) => Task.Run(async () =>
            {
                var mine = new List<JobId>();
                while (true)
                {
                    var result = await node.ClaimAsync(new ClaimRequest($"node-{n}", 25, TimeSpan.FromSeconds(30)));
                    if (result.Jobs.Count == 0)
                    {
                        return mine;
                    }

                    mine.AddRange(result.Jobs.Select(j => j.Job.Id));
                }
            })));

            var all = claimed.SelectMany(c => c).ToList();
            Assert.Equal(Jobs, all.Count);
            Assert.Equal(Jobs, all.Distinct().Count());
            Assert.All(claimed, c => Assert.NotEmpty(c));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SameIdempotencyKeyFromManyNodesAtOnce_MakesOneJob()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var nodes = Enumerable.Range(0, 6).Select(_ => new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema })).ToArray();
        try
        {
            await nodes[0].InitializeAsync(CancellationToken.None);
            for (int round = 0; round < 20; round++)
            {
                var key = $"export-{round}";
                using var start = new ManualResetEventSlim();
                var inserts = nodes.Select(node => Task.Run(async () =>
                {
                    start.Wait();
                    return await node.InsertAsync(NewJob(0) with { IdempotencyKey = key });
                })).ToArray();
                start.Set();
                var results = await Task.WhenAll(inserts);
                Assert.Single(results, r => r.Created);
                Assert.Single(results.Select(r => r.Job.Id).Distinct());
            }
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Runtime_OnPostgreSql_RunsJobsAndCancelsARunningOne()
    {
        var server = await PostgresServer.GetAsync();
        var services = new ServiceCollection().AddSingleton<BlockingHandler.Gate>();
        services.AddJobRuntime(o => o.MaxConcurrency = 4)
            .UsePostgreSql(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.Schema = PostgresServer.NewSchema();
            })
            .AddHandler<DoubleHandler>("double")
            .AddHandler<BlockingHandler>("block");
        await using var provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IJobManager>();

        var ids = new List<JobId>();
        for (int i = 0; i < 100; i++)
        {
            ids.Add(await jobs.SubmitAsync("double", i));
        }

        for (int i = 0; i < ids.Count; i++)
        {
            Assert.Equal(2 * i, await jobs.WaitForResultAsync<int>(ids[i]));
        }

        var blocked = await jobs.SubmitAsync("block", 0);
        await provider.GetRequiredService<BlockingHandler.Gate>().Started.Task;
        Assert.Equal(JobCancelOutcome.Requested, await jobs.CancelAsync(blocked));
        Assert.Equal(JobStatus.Cancelled, (await jobs.WaitForCompletionAsync(blocked)).Status);
        var page = await jobs.ListAsync(new JobQuery { Statuses = [JobStatus.Completed], PageSize = 500 });
        Assert.Equal(100, page.Items.Count);
    }

    [Fact]
    public async Task ContainerDisposedSynchronously_DisposesTheStoreWithoutComplaint()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var services = new ServiceCollection();
        services.AddJobRuntime().UsePostgreSql(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.Schema = schema;
            })
            .AddHandler<DoubleHandler>("double");
        JobId id;
        using (var provider = services.BuildServiceProvider())
        {
            var jobs = provider.GetRequiredService<IJobManager>();
            id = await jobs.SubmitAsync("double", 21);
            Assert.Equal(42, await jobs.WaitForResultAsync<int>(id));
        }

        // The completion was written before the store closed.
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema });
        Assert.Equal(JobStatus.Completed, (await store.GetAsync(id))!.Status);
    }

    /// <summary>A plain pending job (shared by this project's store-level tests).</summary>
    internal static JobSnapshot NewJob(int priority, string queue = "default") => new()
    {
        Id = JobId.New(Now),
        Type = "test",
        Queue = queue,
        Priority = priority,
        Payload = "{}",
        Status = JobStatus.Pending,
        MaxAttempts = 1,
        CreatedAt = Now,
        ScheduledAt = Now,
    };

    /// <summary>
    /// Autovacuum off for the schema's jobs table, so that only the store can vacuum or analyse it;
    /// 6,000 jobs, each updated once: 6,000 dead row versions, above the store's 5,000 floor. A
    /// session's counters reach the shared statistics when it goes idle, at most once a second unless
    /// forced: forced here, they are there when the answer to these statements arrives.
    /// </summary>
    private static string DeadRowsSql(string schema) =>
        $$"""
        ALTER TABLE "{{schema}}".jobs SET (autovacuum_enabled = false);
        INSERT INTO "{{schema}}".jobs (id, type, queue, priority, payload, status, attempt, max_attempts, created_at, scheduled_at, on_parent_failure, pending_parents)
        SELECT gen_random_uuid(), 'test', 'default', 0, '{}', 0, 0, 1, 0, 0, 0, 0 FROM generate_series(1, 6000);
        UPDATE "{{schema}}".jobs SET priority = 1;
        SELECT pg_stat_force_next_flush();
        """;

    /// <summary>Creates the store's schema (as the server's own role) with a store that is then disposed.</summary>
    private static async Task CreateSchemaAsync(PostgresServer server, string schema)
    {
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema });
        await store.InitializeAsync(CancellationToken.None);
    }

    private static async Task ExecuteAsync(PostgresServer server, string sql)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

public sealed class DoubleHandler : IJobHandler<int, int>
{
    public ValueTask<int> ExecuteAsync(int args, JobContext context) => ValueTask.FromResult(2 * args);
}

public sealed class BlockingHandler(BlockingHandler.Gate gate) : IJobHandler<int, int>
{
    public async ValueTask<int> ExecuteAsync(int args, JobContext context)
    {
        gate.Started.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
        finally
        {
            gate.Cancelled.TrySetResult();
        }

        return args;
    }

    public sealed class Gate
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Reports step 1, waits for the test, reports the rest.</summary>
public sealed class SteppingHandler(SteppingHandler.Gate gate) : IJobHandler<int, int>
{
    public async ValueTask<int> ExecuteAsync(int steps, JobContext context)
    {
        context.SetStage("stepping");
        context.ReportProgress(1, steps, "step 1");
        await gate.Continue.Task.WaitAsync(context.CancellationToken);
        for (int i = 2; i <= steps; i++)
        {
            context.ReportProgress(i, steps, $"step {i}");
        }

        return steps;
    }

    public sealed class Gate
    {
        public TaskCompletionSource Continue { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
