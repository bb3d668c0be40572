using JobRuntime;
using JobRuntime.Samples.QuickStart;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// `--hang` shows a hung job: a timeout, the thread dump that points at the hung call, and the
// next job running regardless. `--recurring` shows a recurring job firing every two seconds.
var hang = args.Contains("--hang");

// Jobs live in an embedded SQLite file (a new one for each run of the sample, removed when it exits).
var database = Path.Combine(Path.GetTempPath(), $"jobruntime-quickstart-{Environment.ProcessId}.db");
Console.WriteLine($"job store: {database}");
AppDomain.CurrentDomain.ProcessExit += (_, _) =>
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(database) + "*"))
    {
        File.Delete(file);
    }
};

// Register the runtime, the store and two handlers.
var services = new ServiceCollection()
    .AddLogging(logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddJobRuntime(options =>
    {
        options.MaxConcurrency = hang ? 1 : 2;
        options.CancellationGracePeriod = TimeSpan.FromSeconds(1);
    })
    .UseSqlite($"Data Source={database}")
    .AddHandler<PrimeCountHandler>("primes", handler => handler.DedicatedThread = true)
    .AddHandler<SlowCountHandler>("slow-count")
    .AddHandler<HangingDeviceHandler>("read-device");

await using var provider = services.BuildServiceProvider();
var jobs = provider.GetRequiredService<IJobManager>();

if (hang)
{
    // One slot: the hung job holds it until the timeout abandons it, then the next job runs.
    var hung = await jobs.SubmitAsync(new DeviceArgs("rheometer"), new JobSubmitOptions { Timeout = TimeSpan.FromSeconds(2) });
    var next = await jobs.SubmitAsync(new PrimeCountArgs(1_000_000));
    var timedOut = await jobs.WaitForCompletionAsync(hung);
    Console.WriteLine($"job {hung} ended {timedOut.Status}: {timedOut.Error?.Message}");
    var dump = await jobs.GetThreadDumpAsync(hung);
    Console.WriteLine(dump?.ToText());
    var primes = await jobs.WaitForResultAsync<PrimeCountResult>(next);
    Console.WriteLine($"the next job ran anyway: {primes.Count:N0} primes below {primes.UpTo:N0}");
    return timedOut.Status == JobStatus.TimedOut && dump is not null ? 0 : 1;
}

if (args.Contains("--recurring"))
{
    // A cron schedule (6 fields: seconds first), kept in the store; each occurrence is an ordinary job.
    var recurring = provider.GetRequiredService<IRecurringJobs>();
    await recurring.AddOrUpdateAsync("primes-every-2s", "*/2 * * * * *", new PrimeCountArgs(200_000), o => o.Overlap = OverlapPolicy.Skip);
    var runs = 0;
    using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
    await foreach (var e in jobs.WatchAllAsync(patience.Token))
    {
        if (e.Kind == JobEventKind.Completed && await jobs.GetAsync(e.JobId) is { } run && run.Tags.Contains("schedule:primes-every-2s"))
        {
            Console.WriteLine($"{run.Title}: {run.GetResult<PrimeCountResult>().Count:N0} primes");
            if (++runs == 3)
            {
                break;
            }
        }
    }

    foreach (var info in await recurring.ListAsync())
    {
        Console.WriteLine($"{info.Name} ({info.Cron}, {info.TimeZone}): last {info.LastFireAt:HH:mm:ss} {info.LastJobStatus}, next {info.NextFireAt:HH:mm:ss}");
    }

    await recurring.RemoveAsync("primes-every-2s");
    return runs == 3 ? 0 : 1;
}

// A job to cancel while it runs.
var slow = await jobs.SubmitAsync(new SlowCountArgs(Seconds: 60), new JobSubmitOptions { Title = "slow count" });

// A batch of CPU-bound jobs.
var bounds = new[] { 2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000 };
var ids = new List<JobId>();
foreach (var bound in bounds)
{
    ids.Add(await jobs.SubmitAsync(new PrimeCountArgs(bound), new JobSubmitOptions { Title = $"primes below {bound:N0}" }));
}

// Watch the slow job until it has made some progress, then cancel it.
await foreach (var e in jobs.WatchAsync(slow))
{
    if (e.Kind == JobEventKind.Progress && e.Progress is { Current: >= 5 })
    {
        Console.WriteLine($"slow count at {e.Progress.Current}/{e.Progress.Total}: cancelling {slow}");
        await jobs.CancelAsync(slow);
        break;
    }
}

// Watch the last prime job's progress live (newest progress wins when the console falls behind).
var last = ids[^1];
var lastPercent = -10.0;
await foreach (var e in jobs.WatchAsync(last))
{
    if (e.Progress?.Percentage is { } percent && (percent - lastPercent >= 10 || e.IsTerminal))
    {
        lastPercent = percent;
        Console.WriteLine($"job {last} {e.Kind,-12} {percent,5:0}%  {e.Progress.Message}");
    }
}

// Await every result.
foreach (var id in ids)
{
    var result = await jobs.WaitForResultAsync<PrimeCountResult>(id);
    var job = await jobs.GetAsync(id);
    Console.WriteLine($"{job!.Title,-24} {result.Count,9:N0} primes   {job.Duration?.TotalMilliseconds,6:0} ms");
}

var cancelled = await jobs.WaitForCompletionAsync(slow);
Console.WriteLine($"slow count ended {cancelled.Status} after {cancelled.Progress.Current} of {cancelled.Progress.Total} ticks");
var stored = await jobs.ListAsync(new JobQuery { Statuses = [JobStatus.Completed] });
Console.WriteLine($"{stored.Items.Count} completed jobs stored in {database}");
return cancelled.Status == JobStatus.Cancelled && stored.Items.Count == ids.Count ? 0 : 1;
