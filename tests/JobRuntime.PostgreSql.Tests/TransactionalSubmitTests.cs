using JobRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobRuntime.PostgreSql.Tests;

/// <summary>Submits with the application's own transaction: the job exists only if the business data commits.</summary>
public sealed class TransactionalSubmitTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AJobSubmittedInATransaction_ExistsOnlyOnceItCommits_AndThenRuns()
    {
        await using var node = await StartAsync();
        await using var connection = await node.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, transaction, $"INSERT INTO {node.Schema}.orders (id) VALUES (7)");

        var id = await node.Jobs.SubmitAsync(new BatchWork("order-7"), transaction);

        // Not visible outside the transaction, and not run, before the commit.
        Assert.Null(await node.Jobs.GetAsync(id));
        await transaction.CommitAsync();
        var done = await node.Jobs.WaitForCompletionAsync(id).WaitAsync(Guard);
        Assert.Equal(JobStatus.Completed, done.Status);
        Assert.Equal(1, node.Gates.Attempts("order-7"));
    }

    [Fact]
    public async Task ARolledBackTransaction_TakesItsJobsWithIt()
    {
        await using var node = await StartAsync();
        await using var connection = await node.OpenAsync();
        JobId id;
        JobBatchSubmitted batch;
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Execute(connection, transaction, $"INSERT INTO {node.Schema}.orders (id) VALUES (8)");
            id = await node.Jobs.SubmitAsync("batch-work", new BatchWork("order-8"), transaction, new JobSubmitOptions { Title = "confirm 8" });
            batch = await node.Jobs.SubmitBatchAsync(new JobBatch().Add(new BatchWork("line-1")).Add(new BatchWork("line-2")), transaction);
            await transaction.RollbackAsync();
        }

        Assert.Null(await node.Jobs.GetAsync(id));
        Assert.Null(await node.Jobs.GetBatchAsync(batch.BatchId));
        Assert.Empty((await node.Jobs.ListAsync()).Items);
        Assert.Equal(0L, await Scalar(connection, $"SELECT count(*) FROM {node.Schema}.orders"));
    }

    [Fact]
    public async Task ABatchSubmittedInATransaction_RunsAfterTheCommit()
    {
        await using var node = await StartAsync();
        await using var connection = await node.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var batch = new JobBatch().Add(new BatchWork("a")).Add(new BatchWork("b", Fail: true));
        batch.ContinueWith(new BatchReport("report"));

        var submitted = await node.Jobs.SubmitBatchAsync(batch, transaction);
        await transaction.CommitAsync();

        Assert.Equal($"1/2 completed; not completed: {submitted.JobIds[1]}", await node.Jobs.WaitForResultAsync<string>(submitted.BatchId).WaitAsync(Guard));
    }

    [Fact]
    public async Task BadInput_IsRefusedBeforeAnythingIsWritten_AndTheTransactionStaysUsable()
    {
        await using var node = await StartAsync();
        await using var connection = await node.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Assert.ThrowsAsync<UnknownJobTypeException>(async () => await node.Jobs.SubmitAsync("no-such-type", new BatchWork("x"), transaction));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await node.Jobs.SubmitAsync(new BatchWork("x"), transaction, new JobSubmitOptions { MaxAttempts = 0 }));
        await Assert.ThrowsAsync<JobBatchRejectedException>(async () => await node.Jobs.SubmitBatchAsync(new JobBatch().AddJson("batch-work", "{\"key\": 1"), transaction));

        // The transaction was not touched: it still commits its own work.
        await Execute(connection, transaction, $"INSERT INTO {node.Schema}.orders (id) VALUES (9)");
        await transaction.CommitAsync();
        Assert.Equal(1L, await Scalar(connection, $"SELECT count(*) FROM {node.Schema}.orders"));
        Assert.Empty((await node.Jobs.ListAsync()).Items);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await node.Jobs.SubmitAsync(new BatchWork("late"), transaction));
    }

    [Fact]
    public async Task ARuntimeNotOnPostgreSql_RefusesATransactionalSubmit()
    {
        var services = new ServiceCollection().AddSingleton<BatchGates>();
        services.AddJobRuntime().AddHandler<BatchWorkHandler>("batch-work");
        await using var provider = services.BuildServiceProvider();
        await using var node = await StartAsync();
        await using var connection = await node.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await provider.GetRequiredService<IJobManager>().SubmitAsync(new BatchWork("x"), transaction));

        Assert.Contains("not PostgreSQL", error.Message, StringComparison.Ordinal);
    }

    private static async Task<Node> StartAsync()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var services = new ServiceCollection().AddSingleton<BatchGates>();
        services.AddJobRuntime()
            .UsePostgreSql(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.Schema = schema;
            })
            .AddHandler<BatchWorkHandler>("batch-work")
            .AddHandler<BatchReportHandler>("batch-report");
        var node = new Node(services.BuildServiceProvider(), server.ConnectionString, schema);
        await using var connection = await node.OpenAsync();

        // The application's own table, beside the store's (created on first use of the store).
        await Execute(connection, null, $"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE {schema}.orders (id int PRIMARY KEY)");
        return node;
    }

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed class Node(ServiceProvider services, string connectionString, string schema) : IAsyncDisposable
    {
        public IJobManager Jobs => services.GetRequiredService<IJobManager>();

        public BatchGates Gates => services.GetRequiredService<BatchGates>();

        public string Schema => schema;

        public async Task<NpgsqlConnection> OpenAsync()
        {
            var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            return connection;
        }

        public ValueTask DisposeAsync() => services.DisposeAsync();
    }
}
