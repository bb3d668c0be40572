using System.Runtime.InteropServices;

namespace JobRuntime.Sqlite.Tests;

/// <summary>A real process asked for a thread dump with SIGQUIT, as a JVM would be.</summary>
public sealed partial class SignalDumpTests : IDisposable
{
    private const int SigQuit = 3;

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public async Task Sigquit_PrintsADumpOfRunningJobsToStderr_AndTheProcessKeepsRunning_EvenWithDiagnosticsDisabled_EventPipeFallsThroughToCore()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("SIGQUIT is a Unix signal.");
        }

        await using var store = new SqliteJobStore(_database.Options());
        var now = TimeProvider.System.GetUtcNow();
        var job = new JobSnapshot { Id = JobId.New(now), Type = "append", Queue = "default", Payload = """{"delayMs":600000}""", CreatedAt = now, ScheduledAt = now };
        await store.InsertAsync(job);
        var log = Path.Combine(_database.Directory, "side-effects.log");
        var environment = new Dictionary<string, string>
        {
            ["JOBRUNTIME_DUMP_ON_SIGQUIT"] = "1",
            ["DOTNET_EnableDiagnostics"] = "0", // the EventPipe/dump route is closed; the core provider still answers
            ["JOBRUNTIME_DIAGNOSTICS"] = "1",   // JobRuntime.Diagnostics' EventPipe provider is registered, tried first, and falls through
        };
        using var worker = await WorkerProcess.StartAsync(_database.Path, log, concurrency: 1, environment);

        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Completed on the stderr reader thread: continuations must not run there (disposing the
        // worker waits for that reader to finish).
        var dumped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawJob = false;
        worker.ErrorLine += line =>
        {
            // A dump lists the job's thread first and its notes last: done at the notes of a dump that listed the job.
            if (line.Contains($"running job {job.Id}", StringComparison.Ordinal))
            {
                sawJob = true;
            }
            else if (sawJob && line.Contains("provider 'eventpipe' was not available", StringComparison.Ordinal))
            {
                dumped.TrySetResult();
            }
        };

        // Ask for dumps until the job is running (the worker claims it shortly after start).
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!dumped.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            if ((await store.GetAsync(job.Id))!.Status == JobStatus.Running)
            {
                running.TrySetResult();
                Assert.Equal(0, Kill(worker.Id, SigQuit));
            }

            await Task.WhenAny(dumped.Task, Task.Delay(TimeSpan.FromMilliseconds(200)));
        }

        Assert.True(running.Task.IsCompleted, "the job never started");
        Assert.True(dumped.Task.IsCompleted, "no dump on stderr:\n" + string.Join("\n", worker.StandardError));
        Assert.Contains(worker.StandardError, line => line.StartsWith("Thread dump (SIGQUIT)", StringComparison.Ordinal) && line.Contains("via core", StringComparison.Ordinal));
        Assert.Contains(worker.StandardError, line => line.Contains("provider 'eventpipe' was not available", StringComparison.Ordinal));
        Assert.False(worker.HasExited);
        Assert.Equal(JobStatus.Running, (await store.GetAsync(job.Id))!.Status);
    }
}
