using JobRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobRuntime.PostgreSql.Tests;

/// <summary>Leadership runs the maintenance; it must never stop a node from claiming.</summary>
public sealed class LeadershipTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TryLeadAsync_LeaderRowLockedByAnotherSession_AnswersFalseAndClaimsGoOn()
    {
        var server = await PostgresServer.GetAsync();
        var schema = PostgresServer.NewSchema();
        var options = new PostgreSqlJobStoreOptions { ConnectionString = server.ConnectionString, Schema = schema };
        await using (var first = new PostgreSqlJobStore(options))
        {
            Assert.True(await first.TryLeadAsync("gone", TimeSpan.FromMilliseconds(1)));
        }

        // Another session holds the leader row (an operator's SELECT … FOR UPDATE, a node paused inside its transaction).
        await using var holder = new NpgsqlConnection(server.ConnectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand($"SELECT * FROM \"{schema}\".leader FOR UPDATE", holder, transaction))
        {
            await lockRow.ExecuteNonQueryAsync();
        }

        await using var other = new PostgreSqlJobStore(options);
        Assert.False(await other.TryLeadAsync("node-b", TimeSpan.FromMinutes(1)).AsTask().WaitAsync(Guard));

        // A runtime on the schema, started while the row is locked, runs its jobs.
        var services = new ServiceCollection();
        services.AddJobRuntime(o => o.MaxConcurrency = 2)
            .UsePostgreSql(o =>
            {
                o.ConnectionString = server.ConnectionString;
                o.Schema = schema;
            })
            .AddHandler<DoubleHandler>("double");
        await using var provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IJobManager>();
        var ids = new List<JobId>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await jobs.SubmitAsync("double", i));
        }

        for (var i = 0; i < ids.Count; i++)
        {
            Assert.Equal(2 * i, await jobs.WaitForResultAsync<int>(ids[i]).WaitAsync(Guard));
        }

        await transaction.RollbackAsync();
    }
}
