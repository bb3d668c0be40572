using JobRuntime.TestSupport;
using JobRuntime.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobRuntime.PostgreSql.Tests;

/// <summary>A completed job's result is never lost, whatever a neighbour in its outcome batch holds.</summary>
public sealed class OutcomeContractTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("throw-nul")]
    [InlineData("progress-nul")]
    [InlineData("stage-lone-surrogate")]
    public async Task OneOutcomeWithTextPostgreSqlCannotHold_NeighboursKeepTheirResults(string poison)
    {
        var server = await PostgresServer.GetAsync();
        var gate = new PoisonHandler.Gate(32);
        var services = new ServiceCollection().AddSingleton(gate);
        services.AddJobRuntime(o => o.MaxConcurrency = 32)
            .UsePostgreSql(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.Schema = PostgresServer.NewSchema();
            })
            .AddHandler<PoisonHandler>("poison");
        await using var provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IJobManager>();

        var good = new List<JobId>();
        for (var i = 0; i < 31; i++)
        {
            good.Add(await jobs.SubmitAsync("poison", "ok"));
        }

        var bad = await jobs.SubmitAsync("poison", poison);

        // All 32 run at once and end together: their outcomes share a batch.
        await gate.AllStarted.Task.WaitAsync(Guard);
        gate.Release.TrySetResult();

        foreach (var id in good)
        {
            Assert.Equal(7, await jobs.WaitForResultAsync<int>(id).WaitAsync(Guard));
        }

        var badJob = await jobs.WaitForCompletionAsync(bad).WaitAsync(Guard);
        switch (poison)
        {
            case "throw-nul":
                Assert.Equal(JobStatus.Failed, badJob.Status);
                Assert.Equal("ab", badJob.Error!.Message);
                break;
            case "progress-nul":
                Assert.Equal(JobStatus.Completed, badJob.Status);
                Assert.Equal("xy", badJob.Progress!.Message);
                break;
            default:
                Assert.Equal(JobStatus.Completed, badJob.Status);
                Assert.Equal("s\uFFFDt", badJob.Progress!.Stage);
                break;
        }
    }

    [Fact]
    public async Task OutcomeTheServerRefuses_IsReplacedByAStoredErrorForThatJobAlone()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now);
        await using var store = new PostgreSqlJobStore(new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema }, time);
        for (var i = 0; i < 3; i++)
        {
            await store.InsertAsync(PostgreSqlJobStoreTests.NewJob(0));
        }

        var claimed = (await store.ClaimAsync(new ClaimRequest("worker", 3, TimeSpan.FromMinutes(1)))).Jobs;
        Assert.Equal(3, claimed.Count);

        // A rule of the database's (here a check constraint) refuses one outcome's data.
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var constrain = new NpgsqlCommand($"ALTER TABLE \"{schema}\".jobs ADD CONSTRAINT no_poison CHECK (result IS NULL OR result NOT LIKE '%poison%')", connection);
            await constrain.ExecuteNonQueryAsync();
        }

        var results = await store.CompleteTogetherAsync(
        [
            (claimed[0].Lease, JobCompletion.Completed("1")),
            (claimed[1].Lease, JobCompletion.Completed("\"poison\"")),
            (claimed[2].Lease, JobCompletion.Completed("3")),
        ]);

        Assert.All(results, r => Assert.True(r.Accepted));
        Assert.Equal("1", (await store.GetAsync(claimed[0].Job.Id))!.Result);
        Assert.Equal("3", (await store.GetAsync(claimed[2].Job.Id))!.Result);
        var refused = (await store.GetAsync(claimed[1].Job.Id))!;
        Assert.Equal(JobStatus.Failed, refused.Status);
        Assert.Equal("OutcomeNotStored", refused.Error!.Type);
        Assert.Contains("ended Completed", refused.Error.Message, StringComparison.Ordinal);
        Assert.Contains("no_poison", refused.Error.Message, StringComparison.Ordinal);
    }
}

/// <summary>Waits until every slot runs a job, then ends: "ok" with 7, the others with text PostgreSQL cannot hold as it is.</summary>
public sealed class PoisonHandler(PoisonHandler.Gate gate) : IJobHandler<string, int>
{
    public async ValueTask<int> ExecuteAsync(string args, JobContext context)
    {
        if (Interlocked.Decrement(ref gate.Remaining) == 0)
        {
            gate.AllStarted.TrySetResult();
        }

        await gate.Release.Task.WaitAsync(context.CancellationToken);
        switch (args)
        {
            case "throw-nul":
                throw new InvalidOperationException("a\0b");
            case "progress-nul":
                context.ReportProgress(1, 1, "x\0y");
                break;
            case "stage-lone-surrogate":
                context.SetStage("s\uDC00t");
                context.ReportProgress(1, 1);
                break;
        }

        return 7;
    }

    public sealed class Gate(int jobs)
    {
        public int Remaining = jobs;

        public TaskCompletionSource AllStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
