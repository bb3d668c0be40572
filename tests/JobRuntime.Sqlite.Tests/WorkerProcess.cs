using System.Diagnostics;

namespace JobRuntime.Sqlite.Tests;

/// <summary>A real worker process (tests/JobRuntime.Sqlite.Worker) running jobs from a database file.</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;

    private WorkerProcess(Process process) => _process = process;

    private static string WorkerDll
    {
        get
        {
            // .../tests/JobRuntime.Sqlite.Tests/bin/<Configuration>/<TargetFramework>/
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var framework = output.Name;
            var configuration = output.Parent!.Name;
            var tests = output.Parent.Parent!.Parent!.Parent!.FullName;
            var dll = Path.Combine(tests, "JobRuntime.Sqlite.Worker", "bin", configuration, framework, "JobRuntime.Sqlite.Worker.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("The worker is built with the test project; build the solution first.", dll);
        }
    }

    /// <summary>Starts a worker and waits until its runtime is up.</summary>
    public static async Task<WorkerProcess> StartAsync(string database, string log, int concurrency)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(WorkerDll);
        start.ArgumentList.Add(database);
        start.ArgumentList.Add(log);
        start.ArgumentList.Add(concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(start) ?? throw new InvalidOperationException("The worker did not start.");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (ready != "ready")
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The worker said '{ready}' instead of 'ready'.");
        }

        return new WorkerProcess(process);
    }

    /// <summary>Kills the worker with SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
