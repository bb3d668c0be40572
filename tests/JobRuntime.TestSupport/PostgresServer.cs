using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace JobRuntime.TestSupport;

/// <summary>
/// The PostgreSQL server the tests use: <c>JOBRUNTIME_TEST_PG</c> when set, otherwise a throw-away
/// cluster started from the server binaries of Debian's <c>postgresql</c> package (installed with
/// apt-get when missing and running as root), as the <c>postgres</c> user when running as root, on
/// a free loopback port, in a temporary directory removed when the test process exits. When no
/// server can be had the tests fail with the reason; they never skip.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly string? _directory;
    private readonly string? _binaries;

    private PostgresServer(string connectionString, string? directory, string? binaries)
    {
        ConnectionString = connectionString;
        _directory = directory;
        _binaries = binaries;
    }

    public string ConnectionString { get; }

    /// <summary>The server for this test process (started on first use).</summary>
    public static Task<PostgresServer> GetAsync() => Shared.Value;

    /// <summary>A fresh schema name, so that every test gets its own tables.</summary>
    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..20];

    private static async Task<PostgresServer> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("JOBRUNTIME_TEST_PG") is { Length: > 0 } external)
        {
            return new PostgresServer(external, null, null);
        }

        var binaries = FindBinaries() ?? await InstallAsync().ConfigureAwait(false);
        var root = Environment.UserName == "root";
        var directory = Path.Combine(Path.GetTempPath(), "jobruntime-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        if (root)
        {
            await RunAsync("chown", ["postgres:postgres", directory]).ConfigureAwait(false);
        }

        var data = Path.Combine(directory, "data");
        await RunAsync(Path.Combine(binaries, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"], root).ConfigureAwait(false);
        var port = FreePort();
        var settings = $"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{directory}' -c fsync=off -c full_page_writes=off -c max_connections=300";
        await RunAsync(Path.Combine(binaries, "pg_ctl"), ["-D", data, "-l", Path.Combine(directory, "server.log"), "-w", "-t", "120", "-o", settings, "start"], root).ConfigureAwait(false);
        var server = new PostgresServer($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Maximum Pool Size=50;Timeout=30;Command Timeout=60", directory, binaries);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop(root);

        // A backstop that outlives this process (the test host may be killed before ProcessExit
        // finishes): a detached shell waits for this process to end, stops the server, removes the folder.
        var stop = $"{(root ? "runuser -u postgres -- " : string.Empty)}'{Path.Combine(binaries, "pg_ctl")}' -D '{data}' -m immediate stop";
        var watch = $"(while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {stop}; rm -rf '{directory}') >/dev/null 2>&1 &";
        await RunAsync("sh", ["-c", watch]).ConfigureAwait(false);
        return server;
    }

    private void Stop(bool root)
    {
        if (_directory is null || _binaries is null)
        {
            return;
        }

        try
        {
            RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop"], root).GetAwaiter().GetResult();
        }
        finally
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: the directory is under the temp folder.
            }
        }
    }

    private static string? FindBinaries()
    {
        const string Root = "/usr/lib/postgresql";
        if (!Directory.Exists(Root))
        {
            return null;
        }

        return Directory.GetDirectories(Root)
            .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1))
            .Where(x => x.Version > 0 && File.Exists(Path.Combine(x.Dir, "bin", "initdb")) && File.Exists(Path.Combine(x.Dir, "bin", "pg_ctl")))
            .OrderByDescending(x => x.Version)
            .Select(x => Path.Combine(x.Dir, "bin"))
            .FirstOrDefault();
    }

    private static async Task<string> InstallAsync()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
        {
            throw new InvalidOperationException(
                "The PostgreSQL tests need a server: set JOBRUNTIME_TEST_PG to a connection string, or install Debian's postgresql package (apt-get install postgresql) so that initdb and pg_ctl are under /usr/lib/postgresql/<version>/bin.");
        }

        // Several test processes may get here at once: one installs, the others wait for it on a
        // machine-wide named mutex (held on this one thread throughout, as a mutex must be).
        await Task.Run(() =>
        {
            using var mutex = new Mutex(initiallyOwned: false, "Global\\jobruntime-pg-install");
            try
            {
                if (!mutex.WaitOne(TimeSpan.FromMinutes(15)))
                {
                    throw new TimeoutException("Another test process has been installing postgresql for 15 minutes.");
                }
            }
            catch (AbandonedMutexException)
            {
                // The process that held it died (mid-install, say): the mutex is ours now; check again below.
            }

            try
            {
                if (FindBinaries() is null)
                {
                    RunAsync("apt-get", ["update"]).GetAwaiter().GetResult();
                    RunAsync("apt-get", ["install", "-y", "--no-install-recommends", "postgresql"], environment: new() { ["DEBIAN_FRONTEND"] = "noninteractive" }).GetAwaiter().GetResult();
                }
            }
            finally
            {
                mutex.ReleaseMutex();
            }
        }).ConfigureAwait(false);

        return FindBinaries() ?? throw new InvalidOperationException("apt-get installed postgresql, but initdb and pg_ctl were not found under /usr/lib/postgresql/<version>/bin.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, string[] arguments, bool asPostgres = false, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres)
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("postgres");
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(file);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr.ConfigureAwait(false)} {await stdout.ConfigureAwait(false)}");
        }
    }
}
