using System.Globalization;
using JobRuntime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Usage:
//   worker <connection string> <schema> <side-effect log> <max concurrency> <lease ms> [recurring jobs]
//       Runs "append" and "block" jobs until killed; with [recurring jobs] n, registers n recurring
//       "append" jobs tick-0 … tick-(n-1) that fire every second, as every node of a cluster would. Each execution appends a line to <log>.<pid>,
//       flushed to disk, so the log shows every execution, including repeated ones.
//   submit <connection string> <schema> <count> <delay ms>
//       Submits <count> "append" jobs and prints "submitted".
//   submit-key <connection string> <schema> <idempotency key>
//       Submits one "append" job with the key, prints "<id> created|existing".
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: JobRuntime.PostgreSql.Worker worker|submit|submit-key <connection string> <schema> ...");
    return 2;
}

var mode = args[0];
var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
var lease = mode == "worker" ? TimeSpan.FromMilliseconds(int.Parse(args[5], CultureInfo.InvariantCulture)) : TimeSpan.FromSeconds(30);
builder.Services.AddSingleton(new SideEffectLog(mode == "worker" ? $"{args[3]}.{Environment.ProcessId}" : "/dev/null"));
var runtime = builder.Services.AddJobRuntime(o =>
    {
        o.MaxConcurrency = mode == "worker" ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1;
        o.LeaseDuration = lease;
        o.RecoveryInterval = lease / 4;
        o.PollInterval = TimeSpan.FromSeconds(2);
        o.RetryBaseDelay = TimeSpan.Zero;
        o.RetryMaxDelay = TimeSpan.Zero;
        o.DefaultMaxAttempts = 5;
    })
    .UsePostgreSql(o =>
    {
        o.ConnectionString = args[1];
        o.Schema = args[2];
    })
    .AddHandler<AppendHandler>("append")
    .AddHandler<BlockHandler>("block");
if (mode == "worker" && args.Length > 6)
{
    for (var i = 0; i < int.Parse(args[6], CultureInfo.InvariantCulture); i++)
    {
        runtime.AddRecurring($"tick-{i}", "* * * * * *", new AppendArgs(0));
    }
}

if (mode == "worker")
{
    using var host = builder.Build();
    await host.StartAsync();
    Console.WriteLine("ready");
    await host.WaitForShutdownAsync();
    return 0;
}

// Submitters only insert (through the store): they must not run jobs themselves.
await using var provider = builder.Services.BuildServiceProvider();
var store = provider.GetRequiredService<JobRuntime.Storage.IJobStore>();
JobSnapshot NewJob(int delayMs, string? key)
{
    var now = DateTimeOffset.UtcNow;
    return new JobSnapshot
    {
        Id = JobId.New(now),
        Type = "append",
        Queue = "default",
        Payload = $"{{\"delayMs\":{delayMs}}}",
        Status = JobStatus.Pending,
        MaxAttempts = 5,
        CreatedAt = now,
        ScheduledAt = now,
        IdempotencyKey = key,
    };
}

if (mode == "submit")
{
    int count = int.Parse(args[3], CultureInfo.InvariantCulture);
    int delay = int.Parse(args[4], CultureInfo.InvariantCulture);
    for (int i = 0; i < count; i++)
    {
        await store.InsertAsync(NewJob(delay, null));
    }

    Console.WriteLine("submitted");
    return 0;
}

if (mode == "submit-key")
{
    var result = await store.InsertAsync(NewJob(0, args[3]));
    Console.WriteLine($"{result.Job.Id} {(result.Created ? "created" : "existing")}");
    return 0;
}

Console.Error.WriteLine($"unknown mode '{mode}'");
return 2;

/// <summary>The arguments of an append job.</summary>
/// <param name="DelayMs">How long the job works after writing its side effect.</param>
internal sealed record AppendArgs(int DelayMs);

/// <summary>Appends "run {id}" to the side-effect log, then works a little.</summary>
internal sealed class AppendHandler(SideEffectLog log) : IJobHandler<AppendArgs, string>
{
    public async ValueTask<string> ExecuteAsync(AppendArgs args, JobContext context)
    {
        log.Append($"run {context.JobId}");
        if (args.DelayMs > 0)
        {
            await Task.Delay(args.DelayMs, context.CancellationToken).ConfigureAwait(false);
        }

        return context.JobId.ToString();
    }
}

/// <summary>Logs "started {id}", waits for cancellation, logs "cancelled {id} {utc ticks}".</summary>
internal sealed class BlockHandler(SideEffectLog log) : IJobHandler<int, int>
{
    public async ValueTask<int> ExecuteAsync(int args, JobContext context)
    {
        log.Append($"started {context.JobId}");
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            log.Append($"cancelled {context.JobId} {DateTimeOffset.UtcNow.UtcTicks}");
        }

        return args;
    }
}

/// <summary>An append-only file, one line per entry, flushed to disk on every write.</summary>
internal sealed class SideEffectLog(string path)
{
    private readonly Lock _gate = new();

    public void Append(string line)
    {
        if (path == "/dev/null")
        {
            return;
        }

        lock (_gate)
        {
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
    }
}
