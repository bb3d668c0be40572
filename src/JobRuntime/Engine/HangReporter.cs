using JobRuntime.Telemetry;
using JobRuntime.ThreadDumps;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Tells where a job hangs: the thread dump at a job's deadline (kept on the job's record), the
/// dump of a job that stalled, and the whole process's dump on SIGQUIT.
/// </summary>
internal sealed class HangReporter(IThreadDumpService dumps, LifecycleNotifier notifier, ILogger logger) : IDisposable
{
    private System.Runtime.InteropServices.PosixSignalRegistration? _sigquit;

    /// <summary>At a job's deadline, before its token trips: captures where it is and keeps the dump for the job's record.</summary>
    public async Task CaptureTimeoutAsync(JobRun run, CancellationToken cancellationToken)
    {
        // The job's token trips as soon as the threads' state is taken, not after the dump is
        // processed; the job's outcome waits for the dump (see OutcomeRecorder), so its record keeps it.
        var pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        run.TimeoutDumpPending = pending.Task;
        try
        {
            var dump = await dumps.CaptureAsync(run.JobId, "timeout", run.Trip, cancellationToken).ConfigureAwait(false);
            run.TimeoutDump = dump;
            notifier.TimeoutCaptured(run, dump);
        }
        finally
        {
            pending.TrySetResult();
        }
    }

    /// <summary>A running job made no progress for the stall timeout: warns with a dump; the job keeps running.</summary>
    public async Task ReportStallAsync(JobRun run, TimeSpan silent)
    {
        try
        {
            var dump = await dumps.CaptureAsync(run.JobId, "stall", CancellationToken.None).ConfigureAwait(false);
            notifier.Stalled(run, silent, dump);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            Log.ProviderUnavailable(logger, "all", ex.Message);
        }
    }

    /// <summary>Prints the process's thread dump to standard error on SIGQUIT, and keeps the process alive (the JVM's behaviour).</summary>
    public void ListenForSigquit()
    {
        if (!OperatingSystem.IsWindows())
        {
            _sigquit ??= System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGQUIT, OnSigquit);
        }
    }

    public void Dispose() => _sigquit?.Dispose();

    private void OnSigquit(System.Runtime.InteropServices.PosixSignalContext context)
    {
        // Off the signal thread.
        context.Cancel = true;
        _ = Task.Run(async () =>
        {
            try
            {
                var dump = await dumps.CaptureAsync(null, "SIGQUIT").ConfigureAwait(false);
                await Console.Error.WriteLineAsync(dump.ToText()).ConfigureAwait(false);
                await Console.Error.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException)
            {
                Log.ProviderUnavailable(logger, "all", ex.Message);
            }
        });
    }
}
