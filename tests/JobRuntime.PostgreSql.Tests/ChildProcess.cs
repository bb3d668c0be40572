using System.Collections.Concurrent;
using System.Diagnostics;

namespace JobRuntime.PostgreSql.Tests;

/// <summary>A real process running tests/JobRuntime.PostgreSql.Worker.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource<string> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _stdout.Enqueue(line);
                _firstLine.TrySetResult(line);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _stderr.Enqueue(line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public IReadOnlyCollection<string> Output => _stdout;

    public string Errors => string.Join('\n', _stderr);

    /// <summary>Starts a worker and waits until its runtime is up.</summary>
    public static async Task<ChildProcess> StartWorkerAsync(string connectionString, string schema, string log, int concurrency, TimeSpan lease, int recurringJobs = 0)
    {
        var child = Start("worker", connectionString, schema, log, concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture), ((int)lease.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), recurringJobs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var first = await child._firstLine.Task.WaitAsync(Guard);
        return first == "ready" ? child : throw new InvalidOperationException($"The worker said '{first}': {child.Errors}");
    }

    /// <summary>Runs a submitter to completion and returns its output.</summary>
    public static async Task<IReadOnlyCollection<string>> RunAsync(params string[] args)
    {
        await using var child = Start(args);
        using var guard = new CancellationTokenSource(Guard);
        await child._process.WaitForExitAsync(guard.Token);
        child._process.WaitForExit();
        return child._process.ExitCode == 0 ? child.Output : throw new InvalidOperationException($"{args[0]} exited with {child._process.ExitCode}: {child.Errors}");
    }

    public void Kill() => _process.Kill(entireProcessTree: false);    // SIGKILL on Linux

    /// <summary>Pauses the process with SIGSTOP: it neither runs nor renews its leases (a zombie) until killed.</summary>
    public void Pause()
    {
        if (SendSignal(_process.Id, 19) != 0)
        {
            throw new InvalidOperationException($"SIGSTOP to {_process.Id} failed.");
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static ChildProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(WorkerDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new ChildProcess(Process.Start(start) ?? throw new InvalidOperationException("The worker did not start."));
    }

    private static string WorkerDll
    {
        get
        {
            // .../tests/JobRuntime.PostgreSql.Tests/bin/<Configuration>/<TargetFramework>/
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var tests = output.Parent!.Parent!.Parent!.Parent!.FullName;
            var dll = Path.Combine(tests, "JobRuntime.PostgreSql.Worker", "bin", output.Parent.Name, output.Name, "JobRuntime.PostgreSql.Worker.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("The worker is built with the test project; build the solution first.", dll);
        }
    }
}
