using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace JobRuntime.Samples.Tests;

/// <summary>The rheology console app as a real process: the README's first command.</summary>
public sealed partial class RheologyAppTests : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);
    private readonly string _dir = Directory.CreateTempSubdirectory("jr-rheology-app-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Run_FitsSamplesAndPrintsAllThreeTables_ThenHistoryListsTheJobs()
    {
        string db = Path.Combine(_dir, "jobs.db");
        var run = await RunAsync("--chains", "2", "--warmup", "300", "--draws", "300", "--db", db);
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Contains("NLSQ fit (Levenberg", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("posterior (NUTS, 2 chains", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("warm-started", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("fit vs posterior", run.Stdout, StringComparison.Ordinal);
        Assert.Empty(run.Stderr);

        var history = await RunAsync("history", "--db", db);
        Assert.True(history.ExitCode == 0, history.Describe());
        Assert.Contains("rheology-fit", history.Stdout, StringComparison.Ordinal);
        Assert.Contains("rheology-nuts", history.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, CountOccurrences(history.Stdout, "Completed"));
    }

    [Theory]
    [InlineData("missing.csv", null, "no such file")]
    [InlineData("bad.csv", "time,G\n0.1,100\n0.2,abc\n", "line 3")]
    [InlineData("negative.csv", "0.1,100\n-0.2,90\n0.3,80\n0.4,70\n0.5,60\n0.6,50\n", "times must be positive")]
    [InlineData("few.csv", "0.1,100\n0.2,90\n0.3,80\n", "too few")]
    public async Task BadInput_OneMessageOnStderr_NothingOnStdout_ExitTwo(string file, string? content, string expected)
    {
        string path = Path.Combine(_dir, file);
        if (content is not null)
        {
            await File.WriteAllTextAsync(path, content);
        }

        var run = await RunAsync("--data", path, "--db", Path.Combine(_dir, "jobs.db"));
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(string.Empty, run.Stdout);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "jobs.db")), "bad input must not touch the store");
    }

    [Fact]
    public async Task UnknownOption_PrintsTheUsage_ExitTwo()
    {
        var run = await RunAsync("--frobnicate");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("unknown option '--frobnicate'", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("usage:", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CtrlC_CancelsTheRunningJobsAndSaysSo()
    {
        string db = Path.Combine(_dir, "jobs.db");
        var run = await RunAsync(
            ["--warmup", "1000000", "--draws", "1000000", "--chains", "2", "--db", db],
            onLine: (line, process) =>
            {
                if (line.Contains("(Ctrl+C cancels)", StringComparison.Ordinal))
                {
                    Assert.Equal(0, Kill(process.Id, 2));    // SIGINT, as Ctrl+C sends
                }
            });
        Assert.True(run.ExitCode == 130, run.Describe());
        Assert.Contains("Cancelled.", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("NUTS job", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("ended Cancelled", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hang_PrintsTheDumpPointingAtTheStuckCall()
    {
        var run = await RunAsync("--hang", "--db", Path.Combine(_dir, "jobs.db"));
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Contains("TimedOut", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("via eventpipe", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("timeout\n  at System.Threading.Monitor.Wait(class System.Object,int32)\n  at JobRuntime.Samples.Fitting.Rheology.StuckInstrumentHandler.StuckInFitLoop(", run.Stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Matches(@"next job \S+ \(rheology-fit\) ended Completed", run.Stdout);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static int CountOccurrences(string text, string value)
    {
        int count = 0;
        for (int i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static Task<Result> RunAsync(params string[] args) => RunAsync(args, null);

    private static async Task<Result> RunAsync(string[] args, Action<string, Process>? onLine)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(AppDll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("The app did not start.");
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (stdout)
                {
                    stdout.Append(line).Append('\n');
                }

                onLine?.Invoke(line, process);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (stderr)
                {
                    stderr.Append(line).Append('\n');
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var guard = new CancellationTokenSource(HangGuard);
        try
        {
            await process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The app did not exit within {HangGuard}: {stdout}");
        }

        process.WaitForExit();    // drains the redirected streams
        return new Result(process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static string AppDll
    {
        get
        {
            // .../tests/JobRuntime.Samples.Tests/bin/<Configuration>/<TargetFramework>/
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var root = output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            var dll = Path.Combine(root, "samples", "JobRuntime.Samples.Rheology", "bin", output.Parent.Name, output.Name, "JobRuntime.Samples.Rheology.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("The rheology app is built with the test project; build the solution first.", dll);
        }
    }

    private sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Describe() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }
}
