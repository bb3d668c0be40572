using JobRuntime.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Sqlite.Tests;

/// <summary>Submits with the application's own SQLite transaction on the store's file: the job exists only if it commits.</summary>
public sealed class TransactionalSubmitTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly TempDatabase _database = new();

    [Fact]
    public async Task AJobSubmittedInATransaction_ExistsOnlyOnceItCommits_AndThenRuns()
    {
        await using var node = await StartAsync();
        await using var connection = await OpenAsync();
        JobId id;
        using (var transaction = connection.BeginTransaction())
        {
            Execute(connection, transaction, "INSERT INTO orders (id) VALUES (7)");
            id = await node.Jobs.SubmitAsync(new BatchWork("order-7"), transaction);

            // Not visible outside the transaction before the commit.
            Assert.Null(await node.Jobs.GetAsync(id));
            transaction.Commit();
        }

        var done = await node.Jobs.WaitForCompletionAsync(id).WaitAsync(Guard);
        Assert.Equal(JobStatus.Completed, done.Status);
        Assert.Equal(1, node.Gates.Attempts("order-7"));
    }

    [Fact]
    public async Task ARolledBackTransaction_TakesItsJobsWithIt_AndABatchCommitsWhole()
    {
        await using var node = await StartAsync();
        await using var connection = await OpenAsync();
        JobId id;
        using (var transaction = connection.BeginTransaction())
        {
            Execute(connection, transaction, "INSERT INTO orders (id) VALUES (8)");
            id = await node.Jobs.SubmitAsync("batch-work", new BatchWork("order-8"), transaction);
            await node.Jobs.SubmitBatchAsync(new JobBatch().Add(new BatchWork("line-1")), transaction);
            transaction.Rollback();
        }

        Assert.Null(await node.Jobs.GetAsync(id));
        Assert.Empty((await node.Jobs.ListAsync()).Items);
        Assert.Equal(0L, Scalar(connection, "SELECT count(*) FROM orders"));

        JobBatchSubmitted batch;
        using (var transaction = connection.BeginTransaction())
        {
            var jobs = new JobBatch().Add(new BatchWork("a")).Add(new BatchWork("b", Fail: true));
            jobs.ContinueWith(new BatchReport("report"));
            batch = await node.Jobs.SubmitBatchAsync(jobs, transaction);
            transaction.Commit();
        }

        Assert.Equal($"1/2 completed; not completed: {batch.JobIds[1]}", await node.Jobs.WaitForResultAsync<string>(batch.BatchId).WaitAsync(Guard));
    }

    [Fact]
    public async Task BeforeTheRuntimeMadeItsTables_ATransactionalSubmitSaysSo_InsteadOfWaitingForTheLock()
    {
        var services = new ServiceCollection().AddSingleton<BatchGates>();
        services.AddJobRuntime().UseSqlite(o => o.ConnectionString = _database.ConnectionString).AddHandler<BatchWorkHandler>("batch-work");
        await using var provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IJobManager>();
        await using var connection = await OpenAsync();
        using var transaction = connection.BeginTransaction();
        Execute(connection, transaction, "CREATE TABLE early (id INTEGER)");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await jobs.SubmitAsync(new BatchWork("x"), transaction));

        Assert.Contains("let the runtime start first", error.Message, StringComparison.Ordinal);
        transaction.Rollback();
    }

    [Fact]
    public async Task BadInput_IsRefusedBeforeAnythingIsWritten_AndOtherFilesOrStoresAreRefused()
    {
        await using var node = await StartAsync();
        await using var connection = await OpenAsync();
        using (var transaction = connection.BeginTransaction())
        {
            await Assert.ThrowsAsync<UnknownJobTypeException>(async () => await node.Jobs.SubmitAsync("no-such-type", new BatchWork("x"), transaction));
            await Assert.ThrowsAsync<JobBatchRejectedException>(async () => await node.Jobs.SubmitBatchAsync(new JobBatch().AddJson("batch-work", "{\"key\": 1"), transaction));
            Execute(connection, transaction, "INSERT INTO orders (id) VALUES (9)");
            transaction.Commit();
        }

        Assert.Equal(1L, Scalar(connection, "SELECT count(*) FROM orders"));
        Assert.Empty((await node.Jobs.ListAsync()).Items);

        using var other = new TempDatabase();
        await using var elsewhere = new SqliteConnection(other.ConnectionString);
        await elsewhere.OpenAsync();
        using (var transaction = elsewhere.BeginTransaction())
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await node.Jobs.SubmitAsync(new BatchWork("x"), transaction));
            Assert.Contains("store's file", error.Message, StringComparison.Ordinal);
        }

        var services = new ServiceCollection().AddSingleton<BatchGates>();
        services.AddJobRuntime().AddHandler<BatchWorkHandler>("batch-work");
        await using var inMemory = services.BuildServiceProvider();
        using (var transaction = connection.BeginTransaction())
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await inMemory.GetRequiredService<IJobManager>().SubmitAsync(new BatchWork("x"), transaction));
            Assert.Contains("not SQLite", error.Message, StringComparison.Ordinal);
        }
    }

    public void Dispose() => _database.Dispose();

    private async Task<Node> StartAsync()
    {
        var services = new ServiceCollection().AddSingleton<BatchGates>();
        services.AddJobRuntime()
            .UseSqlite(o => o.ConnectionString = _database.ConnectionString)
            .AddHandler<BatchWorkHandler>("batch-work")
            .AddHandler<BatchReportHandler>("batch-report");
        var node = new Node(services.BuildServiceProvider());

        // The application's own table in the store's file; the runtime has made its own (any call does, as a host's start would).
        await using var connection = await OpenAsync();
        Execute(connection, null, "CREATE TABLE orders (id INTEGER PRIMARY KEY)");
        await node.Jobs.ListAsync();
        return node;
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(_database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private sealed class Node(ServiceProvider services) : IAsyncDisposable
    {
        public IJobManager Jobs => services.GetRequiredService<IJobManager>();

        public BatchGates Gates => services.GetRequiredService<BatchGates>();

        public ValueTask DisposeAsync() => services.DisposeAsync();
    }
}
