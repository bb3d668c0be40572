using JobRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Sqlite.Tests;

/// <summary>The whole runtime on the SQLite store, as the README registers it.</summary>
public sealed class SqliteRuntimeTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    public sealed record SquareArgs(int Value, int Steps);

    public sealed class SquareHandler : IJobHandler<SquareArgs, int>
    {
        public ValueTask<int> ExecuteAsync(SquareArgs args, JobContext context)
        {
            for (var i = 1; i <= args.Steps; i++)
            {
                context.ReportProgress(i, args.Steps, $"step {i}");
            }

            return ValueTask.FromResult(args.Value * args.Value);
        }
    }

    private ServiceProvider Build() => new ServiceCollection()
        .AddJobRuntime(o => o.MaxConcurrency = 4)
        .UseSqlite(_database.ConnectionString)
        .AddHandler<SquareHandler>("square")
        .Services.BuildServiceProvider();

    [Fact]
    public async Task HostStart_DatabaseInAFolderThatDoesNotExistYet_CreatesItAndRuns()
    {
        var path = Path.Combine(_database.Directory, "data", "nested", "jobs.db");
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddJobRuntime().UseSqlite($"Data Source={path}").AddHandler<SquareHandler>("square");
        using var host = builder.Build();

        await host.StartAsync();
        Assert.True(File.Exists(path));
        var jobs = host.Services.GetRequiredService<IJobManager>();
        Assert.Equal(49, await jobs.WaitForResultAsync<int>(await jobs.SubmitAsync(new SquareArgs(7, 1))));
        await host.StopAsync();
    }

    [Fact]
    public async Task HostStart_DatabaseThatCannotBeOpened_FailsTheStartWithTheStoresError()
    {
        // A folder that cannot be created: its parent is a file.
        var blocker = Path.Combine(_database.Directory, "not-a-folder");
        await File.WriteAllTextAsync(blocker, "x");
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddJobRuntime().UseSqlite($"Data Source={Path.Combine(blocker, "jobs.db")}").AddHandler<SquareHandler>("square");
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<SqliteJobStoreException>(() => host.StartAsync());
        Assert.Contains("could not be created", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStart_BadStoreOptions_FailsWithEveryErrorAtOnce()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddJobRuntime().UseSqlite(o =>
        {
            o.ConnectionString = " ";
            o.MaxBatchSize = 0;
            o.BusyTimeout = TimeSpan.FromSeconds(-1);
            o.SignalPollInterval = TimeSpan.FromSeconds(-1);
        });
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());
        Assert.Equal(4, error.Failures.Count());
        foreach (var option in new[] { "ConnectionString", "MaxBatchSize", "BusyTimeout", "SignalPollInterval" })
        {
            Assert.Contains(error.Failures, f => f.StartsWith(option, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task StoreOptionsBoundAfterUseSqlite_AreTheOnesUsed()
    {
        // Configuration bound after registration (appsettings, Configure<T>) counts, as everywhere in .NET.
        var path = Path.Combine(_database.Directory, "configured-later.db");
        var services = new ServiceCollection();
        services.AddJobRuntime().UseSqlite("Data Source=ignored.db").AddHandler<SquareHandler>("square");
        services.Configure<SqliteJobStoreOptions>(o => o.ConnectionString = $"Data Source={path}");
        await using var provider = services.BuildServiceProvider();

        var jobs = provider.GetRequiredService<IJobManager>();
        Assert.Equal(9, await jobs.WaitForResultAsync<int>(await jobs.SubmitAsync(new SquareArgs(3, 1))));
        Assert.True(File.Exists(path));
        Assert.False(File.Exists("ignored.db"));
    }

    [Fact]
    public async Task StoreFailure_IsAJobStoreException_ForHostsThatDoNotNameTheStore()
    {
        var blocker = Path.Combine(_database.Directory, "a-file");
        await File.WriteAllTextAsync(blocker, "x");
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddJobRuntime().UseSqlite($"Data Source={Path.Combine(blocker, "jobs.db")}");
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<JobStoreException>(() => host.StartAsync());
        Assert.IsType<SqliteJobStoreException>(error);
    }

    [Fact]
    public async Task Jobs_RunAndTheirResultsSurviveARestart()
    {
        var ids = new List<JobId>();
        await using (var provider = Build())
        {
            var jobs = provider.GetRequiredService<IJobManager>();
            for (var i = 0; i < 200; i++)
            {
                ids.Add(await jobs.SubmitAsync(new SquareArgs(i, Steps: 20)));
            }

            for (var i = 0; i < ids.Count; i++)
            {
                Assert.Equal(i * i, await jobs.WaitForResultAsync<int>(ids[i]));
            }
        }

        await using (var restarted = Build())
        {
            var jobs = restarted.GetRequiredService<IJobManager>();
            var job = (await jobs.GetAsync(ids[7]))!;
            Assert.Equal(JobStatus.Completed, job.Status);
            Assert.Equal("49", job.Result);
            Assert.Equal(new JobProgress(20, 20, "step 20"), job.Progress);
            Assert.Equal(49, await jobs.WaitForResultAsync<int>(ids[7]));
        }
    }

    [Fact]
    public async Task PendingJobs_SubmittedBeforeAStop_RunAfterTheRestart()
    {
        JobId id;
        await using (var provider = Build())
        {
            // Delayed so that it is normally still pending when the provider is disposed.
            id = await provider.GetRequiredService<IJobManager>().SubmitAsync(new SquareArgs(12, 1), new JobSubmitOptions { Delay = TimeSpan.FromMilliseconds(300) });
        }

        await using var restarted = Build();
        var jobs = restarted.GetRequiredService<IJobManager>();
        await jobs.SubmitAsync(new SquareArgs(1, 1)); // starts the dispatcher
        Assert.Equal(144, await jobs.WaitForResultAsync<int>(id));
    }

    public sealed class WaitHandler(WaitHandler.Gate gate) : IJobHandler<int, int>
    {
        public async ValueTask<int> ExecuteAsync(int args, JobContext context)
        {
            gate.Started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                gate.Cancelled.TrySetResult();
                throw;
            }

            return args;
        }

        public sealed class Gate
        {
            public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    [Fact]
    public async Task DecoratedStore_KeepsTheStoresSignals_ACancelFromAnotherNodeArrivesLongBeforeAnyRenewal()
    {
        // Leases renew every 200 s and claims poll every 10 min: a cancel that arrives within the
        // guard came through the store's signals, which a decorator implementing IJobStore alone hides
        // from a runtime that finds them by casting the store.
        var guard = TimeSpan.FromSeconds(60);
        var gate = new WaitHandler.Gate();
        CountingStore? counter = null;
        await using var nodeA = new ServiceCollection()
            .AddSingleton(gate)
            .AddJobRuntime(o =>
            {
                o.LeaseDuration = TimeSpan.FromMinutes(10);
                o.PollInterval = TimeSpan.FromMinutes(10);
            })
            .UseSqlite(_database.ConnectionString)
            .DecorateStore((_, inner) => CountingStore.Wrap(inner, out counter))
            .AddHandler<WaitHandler>("wait")
            .Services.BuildServiceProvider();
        await using var nodeB = new SqliteJobStore(_database.Options());
        var jobs = nodeA.GetRequiredService<IJobManager>();

        var id = await jobs.SubmitAsync("wait", 1);
        await gate.Started.Task.WaitAsync(guard);
        Assert.Equal(JobCancelOutcome.Requested, (await nodeB.CancelAsync(id)).Outcome);

        await gate.Cancelled.Task.WaitAsync(guard);
        Assert.Equal(JobStatus.Cancelled, (await jobs.WaitForCompletionAsync(id).WaitAsync(guard)).Status);
        Assert.NotNull(counter);
        Assert.Equal(1, counter.CallsTo(nameof(Storage.IJobStore.InsertAsync)));
        Assert.Equal(1, counter.CallsTo(nameof(Storage.IJobStore.CompleteAsync)));
    }
}
