using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite.Tests;

public sealed class SqliteJobStoreTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private static JobSnapshot NewJob(string type = "t")
    {
        var now = TimeProvider.System.GetUtcNow();
        return new JobSnapshot { Id = JobId.New(now), Type = type, Queue = "default", Payload = "{}", CreatedAt = now, ScheduledAt = now };
    }

    private long Scalar(string sql)
    {
        using var connection = new SqliteConnection(_database.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection(_database.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [Theory]
    [InlineData("limit")]
    [InlineData("filter")]
    public async Task ClaimAsync_LimitedOrFilteredQueues_CostDoesNotGrowWithJobsItMayNotTake(string kind)
    {
        // SQLite's count of virtual-machine steps is the measure: deterministic, whatever the machine's load.
        await using var store = new SqliteJobStore(_database.Options());
        var request = new ClaimRequest("worker", 4, TimeSpan.FromMinutes(1)) with
        {
            QueueLimits = kind == "limit" ? new Dictionary<string, int> { ["batch"] = 0 } : null,
            Queues = kind == "filter" ? ["ui"] : null,
        };

        async Task<long> ClaimStepsWithBacklog(int backlog)
        {
            var inserts = new List<Task>();
            for (var i = 0; i < backlog; i++)
            {
                inserts.Add(store.InsertAsync(NewJob() with { Queue = "batch" }).AsTask());
            }

            for (var i = 0; i < 4; i++)
            {
                inserts.Add(store.InsertAsync(NewJob() with { Queue = "ui" }).AsTask());
            }

            await Task.WhenAll(inserts);
            // The first counted commit takes in the steps the statements ran before counting began.
            store.CountVmSteps = true;
            await store.CleanupAsync(DateTimeOffset.MinValue);
            var before = store.VmSteps;
            var claimed = await store.ClaimAsync(request);
            var steps = store.VmSteps - before;
            store.CountVmSteps = false;
            Assert.Equal(4, claimed.Jobs.Count);
            Assert.All(claimed.Jobs, j => Assert.Equal("ui", j.Job.Queue));
            return steps;
        }

        var small = await ClaimStepsWithBacklog(500);
        var large = await ClaimStepsWithBacklog(9_500);    // 10,000 jobs it may not take

        Assert.True(large <= (small * 3 / 2) + 100, $"A claim took {small} steps past 500 jobs it may not take and {large} past 10,000.");
    }

    [Fact]
    public async Task DatabaseFileDeletedWhileOpen_EveryLaterWriteFailsLoudly()
    {
        await using var store = new SqliteJobStore(_database.Options());
        var before = NewJob();
        await store.InsertAsync(before);
        foreach (var file in Directory.GetFiles(_database.Directory, "jobs.db*"))
        {
            File.Delete(file);
        }

        // Written into the unlinked file, these would be acknowledged and gone after a restart.
        for (var i = 0; i < 3; i++)
        {
            var error = await Assert.ThrowsAsync<SqliteJobStoreException>(async () => await store.InsertAsync(NewJob()));
            Assert.Contains("deleted, renamed or replaced", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NewerVersionTakesTheFileOverWhileOpen_WritesStop()
    {
        await using var store = new SqliteJobStore(_database.Options());
        await store.InsertAsync(NewJob());

        // What a newer version's migration does: change the schema, record its version.
        Execute("CREATE INDEX jr_jobs_future ON jr_jobs (title); INSERT INTO jr_migrations (version, applied_at) VALUES (99, 0)");

        var error = await Assert.ThrowsAsync<SqliteJobStoreException>(async () => await store.InsertAsync(NewJob()));
        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM jr_jobs"));
    }

    [Fact]
    public async Task CleanupAsync_GivesTheWriteAheadLogsSpaceBack()
    {
        await using var store = new SqliteJobStore(_database.Options());
        var jobs = Enumerable.Range(0, 3000).Select(_ => NewJob() with { Payload = $$"""{"pad":"{{new string('x', 500)}}"}""" }).ToList();
        await Task.WhenAll(jobs.Select(j => store.InsertAsync(j).AsTask()));
        await Task.WhenAll(jobs.Select(j => store.CancelAsync(j.Id).AsTask()));
        var wal = new FileInfo(_database.Path + "-wal");
        Assert.True(wal.Length > 0);

        Assert.Equal(jobs.Count, await store.CleanupAsync(DateTimeOffset.MaxValue));

        wal.Refresh();
        Assert.Equal(0, wal.Length);
    }

    [Fact]
    public async Task InitializeAsync_EmptyFile_CreatesTheSchemaAndRecordsItsVersion()
    {
        await using (var store = new SqliteJobStore(_database.Options()))
        {
            await store.InitializeAsync(CancellationToken.None);
        }

        Assert.Equal(SqliteJobStore.SchemaVersion, Scalar("SELECT MAX(version) FROM jr_migrations"));
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'jr_jobs'"));
        Assert.Equal(2, Scalar("PRAGMA auto_vacuum")); // INCREMENTAL
        Assert.Equal("wal", ScalarText("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task InitializeAsync_Twice_KeepsDataAndDoesNotMigrateAgain()
    {
        var job = NewJob();
        await using (var first = new SqliteJobStore(_database.Options()))
        {
            await first.InsertAsync(job);
        }

        await using var second = new SqliteJobStore(_database.Options());
        Assert.Equal(job.Id, (await second.GetAsync(job.Id))!.Id);
        Assert.Equal(SqliteJobStore.SchemaVersion, Scalar("SELECT COUNT(*) FROM jr_migrations"));
    }

    [Fact]
    public async Task InitializeAsync_VersionOneDatabase_IsMigratedAndKeepsItsJobs()
    {
        var delayed = NewJob() with { ScheduledAt = TimeProvider.System.GetUtcNow().AddHours(1) };
        var ready = NewJob();
        await using (var store = new SqliteJobStore(_database.Options()))
        {
            await store.InsertAsync(delayed);
            await store.InsertAsync(ready);
        }

        // Put the file back to version 1 as that release left it: its two indexes, no migration 2.
        Execute("""
            DROP INDEX jr_jobs_delayed;
            CREATE INDEX jr_jobs_due ON jr_jobs (scheduled_at) WHERE status = 0 AND pending_parents = 0;
            DROP INDEX jr_jobs_list;
            CREATE INDEX jr_jobs_list ON jr_jobs (status, type, created_at);
            DROP INDEX jr_jobs_ready_queue;
            DROP TABLE jr_schedules;
            ALTER TABLE jr_jobs DROP COLUMN attempt_errors;
            DROP INDEX jr_jobs_cache;
            ALTER TABLE jr_jobs DROP COLUMN cached_from;
            DROP INDEX jr_jobs_batch;
            ALTER TABLE jr_jobs DROP COLUMN batch_id;
            ALTER TABLE jr_jobs DROP COLUMN retry;
            DELETE FROM jr_migrations WHERE version >= 2;
            """);
        Assert.Equal(1, Scalar("SELECT MAX(version) FROM jr_migrations"));

        await using var upgraded = new SqliteJobStore(_database.Options());
        var claimed = await upgraded.ClaimAsync(new ClaimRequest("w", 10, TimeSpan.FromMinutes(1)));

        Assert.Equal(SqliteJobStore.SchemaVersion, Scalar("SELECT MAX(version) FROM jr_migrations"));
        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'jr_jobs_due'"));
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'jr_jobs_ready_queue'"));
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'jr_schedules'"));
        Assert.Contains("status <> 1", ScalarText("SELECT sql FROM sqlite_master WHERE name = 'jr_jobs_list'"), StringComparison.Ordinal);
        var job = Assert.Single(claimed.Jobs).Job;
        Assert.Equal(ready.Id, job.Id);

        // The delayed job is still known as the next one due, through the new index.
        Assert.Equal(delayed.ScheduledAt.UtcTicks, claimed.NextDueAt?.UtcTicks);
        Assert.Equal(JobStatus.Pending, (await upgraded.GetAsync(delayed.Id))!.Status);
    }

    [Fact]
    public async Task InitializeAsync_NewerSchema_IsRefusedWithAClearMessage()
    {
        await using (var store = new SqliteJobStore(_database.Options()))
        {
            await store.InitializeAsync(CancellationToken.None);
        }

        // What a newer version's migration does: change the schema, record its version.
        Execute("CREATE INDEX jr_jobs_future ON jr_jobs (title); INSERT INTO jr_migrations (version, applied_at) VALUES (99, 0)");

        await using var newer = new SqliteJobStore(_database.Options());
        var ex = await Assert.ThrowsAsync<SqliteJobStoreException>(async () => await newer.GetAsync(JobId.New()));
        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
        Assert.Contains("newer", ex.Message, StringComparison.Ordinal);
        var insert = await Assert.ThrowsAsync<SqliteJobStoreException>(async () => await newer.InsertAsync(NewJob()));
        Assert.Contains("schema version 99", insert.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCall_FileIsNotADatabase_ThrowsAClearError()
    {
        await File.WriteAllTextAsync(_database.Path, "this is a text file, not a database, and it is long enough to have a header");

        await using var store = new SqliteJobStore(_database.Options());
        var ex = await Assert.ThrowsAsync<SqliteJobStoreException>(async () => await store.InsertAsync(NewJob()));

        Assert.Contains("not a SQLite database", ex.Message, StringComparison.Ordinal);
        Assert.Contains(_database.Path, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("this is a text file", await File.ReadAllTextAsync(_database.Path), StringComparison.Ordinal);

        // Once the file is fixed (here: removed), the same store serves: the failed start is not remembered.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(_database.Path);
        var inserted = await store.InsertAsync(NewJob());
        Assert.True(inserted.Created);
        Assert.NotNull(await store.GetAsync(inserted.Job.Id));
    }

    [Fact]
    public async Task Writes_ReadOnlyDatabase_FailClearlyAndReadsStillWork()
    {
        var job = NewJob();
        await using (var writable = new SqliteJobStore(_database.Options()))
        {
            await writable.InsertAsync(job);
        }

        await using var store = new SqliteJobStore(_database.Options(o => o.ConnectionString = $"Data Source={_database.Path};Mode=ReadOnly"));
        var ex = await Assert.ThrowsAnyAsync<SqliteJobStoreException>(async () => await store.InsertAsync(NewJob()));

        Assert.Contains("read-only", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteFailure_IsReported_AndTheStoreServesAgainOnceItClears()
    {
        await using var store = new SqliteJobStore(_database.Options(o => o.BusyTimeout = TimeSpan.FromMilliseconds(200)));
        var before = NewJob();
        await store.InsertAsync(before);

        // Another program holds the write lock (its own connection, outside any pool).
        using (var blocker = new SqliteConnection(_database.ConnectionString + ";Pooling=False"))
        {
            blocker.Open();
            using var begin = blocker.CreateCommand();
            begin.CommandText = "BEGIN EXCLUSIVE";
            begin.ExecuteNonQuery();

            var ex = await Assert.ThrowsAsync<SqliteJobStoreException>(async () => await store.InsertAsync(NewJob()));
            Assert.Contains("locked", ex.Message, StringComparison.Ordinal);
        }

        var after = NewJob();
        await store.InsertAsync(after);
        Assert.NotNull(await store.GetAsync(before.Id));
        Assert.NotNull(await store.GetAsync(after.Id));
    }

    [Fact]
    public async Task ConcurrentInserts_AreBatched_AndAllDurable()
    {
        var jobs = Enumerable.Range(0, 2000).Select(_ => NewJob()).ToList();
        await using (var store = new SqliteJobStore(_database.Options()))
        {
            await Task.WhenAll(jobs.Select(j => store.InsertAsync(j).AsTask()));
        }

        // Read back through a fresh store: everything acknowledged is on disk.
        await using var reopened = new SqliteJobStore(_database.Options());
        Assert.Equal(2000, Scalar("SELECT COUNT(*) FROM jr_jobs"));
        foreach (var job in jobs.Take(50))
        {
            Assert.NotNull(await reopened.GetAsync(job.Id));
        }
    }

    [Fact]
    public async Task SustainedWrites_KeepTheWriteAheadLogBounded()
    {
        // 40 commits of 1,000 jobs with 1 KB payloads write about 12,000 log pages: far more than
        // the bound below, so the log only stays under it if checkpoints let it start over.
        var payload = $"\"{new string('x', 1024)}\"";
        var wal = _database.Path + "-wal";
        long largest = 0;
        await using (var store = new SqliteJobStore(_database.Options()))
        {
            for (var round = 0; round < 40; round++)
            {
                await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => store.InsertAsync(NewJob() with { Payload = payload }).AsTask()));
                largest = Math.Max(largest, new FileInfo(wal).Length);
            }
        }

        // The writer checkpoints at 4,000 pages; a commit or two more may land first (its own
        // checkpoint is skipped while the background one holds the lock). Unbounded, it reached ~200 MB.
        const long pageWithHeader = 4096 + 24;
        Assert.InRange(largest, 1, 2 * 4000 * pageWithHeader);
        Assert.Equal(40_000, Scalar("SELECT COUNT(*) FROM jr_jobs"));
    }

    [Fact]
    public async Task CleanupAsync_GivesSpaceBack()
    {
        await using var store = new SqliteJobStore(_database.Options());
        var payload = new string('x', 4000);
        for (var i = 0; i < 500; i++)
        {
            var job = NewJob() with { Payload = $"\"{payload}\"" };
            await store.InsertAsync(job);
            await store.CancelAsync(job.Id);
        }

        var pagesBefore = Scalar("PRAGMA page_count");
        var removed = await store.CleanupAsync(DateTimeOffset.MaxValue);

        Assert.Equal(500, removed);
        Assert.True(Scalar("PRAGMA page_count") < pagesBefore / 2, "the file did not shrink");
    }

    private string ScalarText(string sql)
    {
        using var connection = new SqliteConnection(_database.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (string)command.ExecuteScalar()!;
    }
}
