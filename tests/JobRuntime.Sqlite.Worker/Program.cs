using JobRuntime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Usage: JobRuntime.Sqlite.Worker <database> <side-effect log> <max concurrency>
// Runs "append" jobs from the database until killed. Each job appends its id to <log>.<pid> (flushed
// to disk) before it completes, so the log shows every execution, including repeated ones.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: JobRuntime.Sqlite.Worker <database> <side-effect log> <max concurrency>");
    return 2;
}

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
// JOBRUNTIME_HOST_SHUTDOWN_SECONDS: the host's own shutdown timeout (a platform's grace period after SIGTERM).
if (Environment.GetEnvironmentVariable("JOBRUNTIME_HOST_SHUTDOWN_SECONDS") is { } hostShutdown)
{
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(int.Parse(hostShutdown, System.Globalization.CultureInfo.InvariantCulture)));
}

// One file per process: appends from two processes to one file could overwrite each other.
builder.Services.AddSingleton(new SideEffectLog($"{args[1]}.{Environment.ProcessId}"));
var runtime = builder.Services.AddJobRuntime(o =>
    {
        o.MaxConcurrency = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        // JOBRUNTIME_LEASE_SECONDS: a long lease, so that only the store's signals bring a cancel quickly.
        o.LeaseDuration = TimeSpan.FromSeconds(int.Parse(Environment.GetEnvironmentVariable("JOBRUNTIME_LEASE_SECONDS") ?? "2", System.Globalization.CultureInfo.InvariantCulture));
        o.RecoveryInterval = TimeSpan.FromMilliseconds(500);
        o.PollInterval = TimeSpan.FromMilliseconds(100);
        o.RetryBaseDelay = TimeSpan.Zero;
        o.RetryMaxDelay = TimeSpan.Zero;
        o.DumpOnSigquit = Environment.GetEnvironmentVariable("JOBRUNTIME_DUMP_ON_SIGQUIT") == "1";
    })
    .UseSqlite($"Data Source={args[0]}")
    .AddHandler<AppendHandler>("append");
// JOBRUNTIME_SCHEDULES=n: n recurring "append" jobs tick-0 … tick-(n-1), every second, registered by every process.
for (var i = 0; i < int.Parse(Environment.GetEnvironmentVariable("JOBRUNTIME_SCHEDULES") ?? "0", System.Globalization.CultureInfo.InvariantCulture); i++)
{
    runtime.AddRecurring($"tick-{i}", "* * * * * *", new AppendArgs(0));
}

if (Environment.GetEnvironmentVariable("JOBRUNTIME_DIAGNOSTICS") == "1")
{
    runtime.AddThreadDumpDiagnostics();
}

using var host = builder.Build();
Console.WriteLine("ready");
await host.RunAsync();
return 0;

/// <summary>The arguments of an append job.</summary>
/// <param name="DelayMs">How long the job works after writing its side effect.</param>
internal sealed record AppendArgs(int DelayMs);

/// <summary>Appends the job id to the side-effect log, then works a little.</summary>
internal sealed class AppendHandler(SideEffectLog log) : IJobHandler<AppendArgs, string>
{
    public async ValueTask<string> ExecuteAsync(AppendArgs args, JobContext context)
    {
        log.Append(context.JobId.ToString());
        if (args.DelayMs > 0)
        {
            try
            {
                await Task.Delay(args.DelayMs, context.CancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (Environment.GetEnvironmentVariable("JOBRUNTIME_CLEANUP_MS") is { } cleanup)
            {
                // A handler that takes a while to stop (it saves its state first).
                await Task.Delay(int.Parse(cleanup, System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }

        return context.JobId.ToString();
    }
}

/// <summary>An append-only file, one line per execution, flushed to disk on every write.</summary>
internal sealed class SideEffectLog(string path)
{
    private readonly Lock _gate = new();

    public void Append(string line)
    {
        lock (_gate)
        {
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
    }
}
