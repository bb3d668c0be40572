using JobRuntime.TestSupport;
using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Burn-down throughput on PostgreSQL, outside BenchmarkDotNet because it needs several processes:
/// N no-op jobs are inserted in one statement while two JobRuntime worker processes (separate OS
/// processes, each its own node) wait; the clock runs from the insert's commit until the last job
/// is completed. Hangfire.PostgreSql runs the same kind of burn-down in the same run (its jobs
/// enqueued before its servers start, two servers in this process).
/// Usage: --pg-burndown [--jobs 100000] [--hangfire-jobs 2000] [--concurrency 64] [--runs 3]
/// </summary>
internal static class PostgresBurnDown
{
    private const int WarmUpJobs = 5_000;
    private const int HangfireWarmUpJobs = 200;

    public static async Task<int> RunAsync(string[] args)
    {
        int jobs = Option(args, "--jobs", 100_000);
        int hangfireJobs = Option(args, "--hangfire-jobs", 2_000);
        int concurrency = Option(args, "--concurrency", 64);
        int runs = Option(args, "--runs", 3);
        if (runs < 1)
        {
            throw new ArgumentException("--runs must be at least 1.");
        }

        var server = await PostgresServer.GetAsync();
        Console.WriteLine($"PostgreSQL burn-down on {Environment.ProcessorCount} cores; server started from Debian's postgresql binaries (fsync off)");

        // The machine kind shares its cores: single burn-downs vary by ±20 %. Each run times one
        // burn-down of each library, alternating; the ratio is of the medians.
        var ours = new List<double>();
        var theirs = new List<double>();
        for (int run = 1; run <= runs; run++)
        {
            var jobRuntime = await JobRuntimeAsync(server.ConnectionString, jobs, concurrency);
            ours.Add(jobs / jobRuntime.TotalSeconds);
            Console.WriteLine(FormattableString.Invariant($"run {run}: JobRuntime.PostgreSql: {jobs:N0} jobs, 2 worker processes × {concurrency} slots: {jobRuntime.TotalSeconds:F2} s = {ours[^1]:N0} jobs/s"));
            if (hangfireJobs > 0)
            {
                var hangfire = Hangfire(server.ConnectionString, hangfireJobs, concurrency);
                theirs.Add(hangfireJobs / hangfire.TotalSeconds);
                Console.WriteLine(FormattableString.Invariant($"run {run}: Hangfire.PostgreSql 1.21.1: {hangfireJobs:N0} jobs, 2 servers × {concurrency} workers, queue poll 100 ms: {hangfire.TotalSeconds:F2} s = {theirs[^1]:N0} jobs/s"));
            }
        }

        Console.WriteLine(FormattableString.Invariant($"median of {runs}: JobRuntime.PostgreSql {Median(ours):N0} jobs/s (range {ours.Min():N0}–{ours.Max():N0})"));
        if (theirs.Count > 0)
        {
            Console.WriteLine(FormattableString.Invariant($"median of {runs}: Hangfire.PostgreSql {Median(theirs):N0} jobs/s (range {theirs.Min():N0}–{theirs.Max():N0})"));
            Console.WriteLine(FormattableString.Invariant($"ratio of medians: {Median(ours) / Median(theirs):F1}×"));
        }

        return 0;
    }

    /// <summary>A worker node: runs "noop" jobs from the schema until killed.</summary>
    public static async Task<int> WorkerAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();

        // Warnings (lost leases, store errors) on stderr: stdout is the parent's "ready" pipe, never drained after that.
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddJobRuntime(o =>
            {
                o.MaxConcurrency = int.Parse(args[3], CultureInfo.InvariantCulture);
                o.PollInterval = TimeSpan.FromMilliseconds(250);
            })
            .UsePostgreSql(o =>
            {
                o.ConnectionString = args[1];
                o.Schema = args[2];
                o.LiveEvents = false;
            })
            .AddHandler<NoopHandler>("noop");
        using var host = builder.Build();
        await host.StartAsync();
        Console.WriteLine("ready");
        await host.WaitForShutdownAsync();
        return 0;
    }

    private static async Task<TimeSpan> JobRuntimeAsync(string connectionString, int jobs, int concurrency)
    {
        var schema = "bench_" + Guid.NewGuid().ToString("N")[..8];
        // The schema is created as a user's first start would: the store opens on its first read.
        await using (var services = new ServiceCollection().AddJobRuntime().UsePostgreSql(o =>
            {
                o.ConnectionString = connectionString;
                o.Schema = schema;
            }).Services.BuildServiceProvider())
        {
            await services.GetRequiredService<Storage.IJobStore>().GetAsync(default, CancellationToken.None);
        }

        var workers = new List<Process>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                workers.Add(await StartWorkerAsync(connectionString, schema, concurrency));
            }

            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();

            // Untimed warm-up, so that the workers' code is compiled (tiered JIT) before the clock runs.
            await BurnDownAsync(connection, schema, WarmUpJobs);
            var workerCpu = workers.Sum(w => { w.Refresh(); return w.TotalProcessorTime.TotalMicroseconds; });
            var serverCpu = ServerCpuMicroseconds();
            var elapsed = await BurnDownAsync(connection, schema, jobs);
            workerCpu = workers.Sum(w => { w.Refresh(); return w.TotalProcessorTime.TotalMicroseconds; }) - workerCpu;
            serverCpu = ServerCpuMicroseconds() - serverCpu;
            Console.WriteLine(FormattableString.Invariant($"  CPU per job: workers {workerCpu / jobs:N1} µs, PostgreSQL server {serverCpu / jobs:N1} µs (its processes alive at both readings)"));
            await using var failed = new NpgsqlCommand($"SELECT COUNT(*) FROM \"{schema}\".jobs WHERE status <> 2", connection);
            var notCompleted = Convert.ToInt64(await failed.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
            return notCompleted == 0 ? elapsed : throw new InvalidOperationException($"{notCompleted} jobs did not complete.");
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync();
                worker.Dispose();
            }
        }
    }

    /// <summary>
    /// The CPU time of the PostgreSQL server's processes now, from <c>/proc</c> (their command line is rewritten
    /// by the server, so they are found by <c>comm</c>); a backend that ended meanwhile is not counted.
    /// </summary>
    private static double ServerCpuMicroseconds()
    {
        const double MicrosecondsPerTick = 1_000_000.0 / 100;   // USER_HZ
        var total = 0.0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (!int.TryParse(Path.GetFileName(directory), out _) || File.ReadAllText(Path.Combine(directory, "comm")).Trim() != "postgres")
                {
                    continue;
                }

                // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * MicrosecondsPerTick;
            }
            catch (IOException)
            {
                // Ended between the listing and the reading.
            }
        }

        return total;
    }

    /// <summary>Inserts <paramref name="jobs"/> no-op jobs in one statement and times them from its commit until none is ready or running.</summary>
    private static async Task<TimeSpan> BurnDownAsync(NpgsqlConnection connection, string schema, int jobs)
    {
        long now = DateTimeOffset.UtcNow.UtcTicks;
        await using (var insert = new NpgsqlCommand(
            $$"""
            INSERT INTO "{{schema}}".jobs (id, type, queue, priority, payload, status, attempt, max_attempts, created_at, scheduled_at, on_parent_failure, pending_parents)
            SELECT gen_random_uuid(), 'noop', 'default', 0, '{"index":' || g || '}', 0, 0, 1, @now, @now, 0, 0 FROM generate_series(1, @n) AS g;
            NOTIFY "jr_{{schema}}", 'a:default';
            """,
            connection))
        {
            insert.Parameters.AddWithValue("now", now);
            insert.Parameters.AddWithValue("n", jobs);
            insert.CommandTimeout = 600;
            await insert.ExecuteNonQueryAsync();
        }

        var clock = Stopwatch.StartNew();
        // Cheap to ask (partial indexes): is any job still ready or running?
        await using var remaining = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM \"{schema}\".jobs WHERE status = 0 AND pending_parents = 0) OR EXISTS (SELECT 1 FROM \"{schema}\".jobs WHERE status = 1)", connection);
        var reported = TimeSpan.FromSeconds(15);
        while ((bool)(await remaining.ExecuteScalarAsync())!)
        {
            await Task.Delay(50);
            if (clock.Elapsed > reported)
            {
                // A burn-down this slow is stuck somewhere: say where the jobs are (stderr, so that the figures stay parseable).
                reported += TimeSpan.FromSeconds(5);
                await using var where = new NpgsqlCommand(
                    $"SELECT string_agg(format('%s status %s owner %s leases %s..%s s', n, status, owner, lo, hi), '; ') FROM (SELECT COUNT(*) n, status, owner, ROUND((MIN(lease_expires) - @now) / 1e7) lo, ROUND((MAX(lease_expires) - @now) / 1e7) hi FROM \"{schema}\".jobs WHERE status IN (0, 1) GROUP BY status, owner) x",
                    connection);
                where.Parameters.AddWithValue("now", DateTimeOffset.UtcNow.UtcTicks);
                await Console.Error.WriteLineAsync(FormattableString.Invariant($"after {clock.Elapsed.TotalSeconds:F0} s: {await where.ExecuteScalarAsync()}"));
                await using var sessions = new NpgsqlCommand(
                    "SELECT string_agg(format('%s %s %s/%s %s: %s', pid, client_port, wait_event_type, wait_event, state, left(regexp_replace(query, '\\s+', ' ', 'g'), 70)), E'\n') FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    connection);
                await Console.Error.WriteLineAsync(await sessions.ExecuteScalarAsync() as string);
                await using var table = new NpgsqlCommand(
                    $"SELECT format('analyzed %s (auto %s), vacuumed %s (auto %s), changed since %s, live %s, dead %s, reltuples %s', last_analyze, last_autoanalyze, last_vacuum, last_autovacuum, n_mod_since_analyze, n_live_tup, n_dead_tup, (SELECT reltuples FROM pg_class WHERE oid = relid)) FROM pg_stat_user_tables WHERE relid = '\"{schema}\".jobs'::regclass",
                    connection);
                await Console.Error.WriteLineAsync(await table.ExecuteScalarAsync() as string);
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(20))
            {
                throw new TimeoutException("The burn-down did not finish within 20 minutes.");
            }
        }

        return clock.Elapsed;
    }

    private static async Task<Process> StartWorkerAsync(string connectionString, string schema, int concurrency)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(PostgresBurnDown).Assembly.Location);
        start.ArgumentList.Add("--pg-worker");
        start.ArgumentList.Add(connectionString);
        start.ArgumentList.Add(schema);
        start.ArgumentList.Add(concurrency.ToString(CultureInfo.InvariantCulture));
        var process = Process.Start(start) ?? throw new InvalidOperationException("The worker did not start.");
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return line == "ready" ? process : throw new InvalidOperationException($"The worker said '{line}'.");
    }

    private static TimeSpan Hangfire(string connectionString, int jobs, int concurrency)
    {
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = "hf_" + Guid.NewGuid().ToString("N")[..8],
            QueuePollInterval = TimeSpan.FromMilliseconds(100),
            PrepareSchemaIfNecessary = true,
        };
#pragma warning disable CS0618 // the connection-string constructor is the simplest that every 1.x version has
        var storage = new PostgreSqlStorage(connectionString, options);
#pragma warning restore CS0618
        var client = new BackgroundJobClient(storage);

        // Untimed warm-up, as for JobRuntime: the same servers' code compiled before the clock runs.
        HangfireBurnDown(storage, client, Math.Min(jobs, HangfireWarmUpJobs), concurrency);
        return HangfireBurnDown(storage, client, jobs, concurrency);
    }

    private static TimeSpan HangfireBurnDown(JobStorage storage, BackgroundJobClient client, int jobs, int concurrency)
    {
        var completion = HangfireNoop.Enqueue(client, jobs);

        var clock = Stopwatch.StartNew();
        using var first = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = concurrency, ServerName = "hf-1" }, storage);
        using var second = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = concurrency, ServerName = "hf-2" }, storage);
        if (!completion.Task.Wait(TimeSpan.FromMinutes(20)))
        {
            throw new TimeoutException("Hangfire did not finish within 20 minutes.");
        }

        return clock.Elapsed;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
