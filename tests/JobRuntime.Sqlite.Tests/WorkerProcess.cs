using System.Diagnostics;

namespace JobRuntime.Sqlite.Tests;

/// <summary>A real worker process (tests/JobRuntime.Sqlite.Worker) running jobs from a database file.</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _stderr;

    private WorkerProcess(Process process, System.Collections.Concurrent.ConcurrentQueue<string> stderr)
    {
        _process = process;
        _stderr = stderr;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Standard error so far, one line per entry.</summary>
    public IReadOnlyCollection<string> StandardError => _stderr;

    /// <summary>Raised for each line the worker writes to standard error.</summary>
    public event Action<string>? ErrorLine;

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
    public static async Task<WorkerProcess> StartAsync(string database, string log, int concurrency, IReadOnlyDictionary<string, string>? environment = null)
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
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The worker did not start.");
        var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
        WorkerProcess? worker = null;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                stderr.Enqueue(line);
                worker?.ErrorLine?.Invoke(line);
            }
        };
        process.BeginErrorReadLine();
        var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (ready != "ready")
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The worker said '{ready}' instead of 'ready'.");
        }

        worker = new WorkerProcess(process, stderr);
        return worker;
    }

    /// <summary>Pauses the worker with SIGSTOP: it neither runs nor renews its leases until killed (a zombie).</summary>
    public void Pause()
    {
        if (Kill(_process.Id, 19) != 0)
        {
            throw new InvalidOperationException($"SIGSTOP to {_process.Id} failed.");
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Asks the worker to stop with SIGTERM, as a platform does (the generic host then shuts down).</summary>
    public void Terminate()
    {
        if (Kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"SIGTERM to {_process.Id} failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits until the worker has exited.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>The worker's exit code, once it has exited.</summary>
    public int ExitCode => _process.ExitCode;

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
