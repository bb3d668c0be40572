using System.Diagnostics;
using JobRuntime.Storage;

namespace JobRuntime.Sqlite.Tests;

/// <summary>
/// A real full disk: the database lives on a 2 MiB tmpfs mounted for the test (which needs root,
/// as CI runs), with a ballast file taking most of it. Inserts run until the disk is full; then the
/// ballast is removed and the store must serve again, with every acknowledged job still there.
/// </summary>
public sealed class FullDiskTests : IDisposable
{
    private readonly string _mount = Directory.CreateTempSubdirectory("jr-full-disk-").FullName;
    private bool _mounted;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_mounted)
        {
            Run("umount", "-l", _mount);
        }

        Directory.Delete(_mount, recursive: true);
    }

    [Fact]
    public async Task DiskFills_InsertFailsClearlyNamingTheFile_NothingAcknowledgedIsLost_StoreServesOnceSpaceIsFreed()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            throw new InvalidOperationException("This test mounts a small tmpfs to fill a real disk: run it as root on Linux (CI does).");
        }

        Run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", _mount);
        _mounted = true;
        var ballast = Path.Combine(_mount, "ballast");
        // The ballast must outweigh what the jobs fill: freeing it has to leave room for SQLite to
        // checkpoint the write-ahead log into the database file as well as for new writes.
        await File.WriteAllBytesAsync(ballast, new byte[1280 * 1024]);
        var path = Path.Combine(_mount, "jobs.db");
        var payload = $"\"{new string('x', 16 * 1024)}\"";

        var acknowledged = new List<JobId>();
        SqliteJobStoreException? full = null;
        await using (var store = new SqliteJobStore(new SqliteJobStoreOptions { ConnectionString = $"Data Source={path}" }))
        {
            // Bounded: 2 MiB holds well under 200 jobs of 16 KiB.
            for (int i = 0; i < 200 && full is null; i++)
            {
                try
                {
                    acknowledged.Add((await store.InsertAsync(NewJob(payload))).Job.Id);
                }
                catch (SqliteJobStoreException ex)
                {
                    full = ex;
                }
            }

            Assert.NotNull(full);
            Assert.Contains("full", full.Message, StringComparison.Ordinal);
            Assert.Contains(path, full.Message, StringComparison.Ordinal);
            Assert.NotEmpty(acknowledged);

            // Still full: still a clear error, and reads work.
            await Assert.ThrowsAsync<SqliteJobStoreException>(async () => await store.InsertAsync(NewJob(payload)));
            Assert.NotNull(await store.GetAsync(acknowledged[^1]));

            File.Delete(ballast);
            var after = await store.InsertAsync(NewJob(payload));
            acknowledged.Add(after.Job.Id);
            foreach (var id in acknowledged)
            {
                Assert.NotNull(await store.GetAsync(id));
            }
        }

        // Durable: a fresh store on the same file has every acknowledged job.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await using var reopened = new SqliteJobStore(new SqliteJobStoreOptions { ConnectionString = $"Data Source={path}" });
        foreach (var id in acknowledged)
        {
            Assert.Equal(JobStatus.Pending, (await reopened.GetAsync(id))!.Status);
        }
    }

    [Fact]
    public async Task ReadOnlyMedium_JobsCanStillBeReadAndListed_WritesFailClearly()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            throw new InvalidOperationException("This test remounts a tmpfs read-only: run it as root on Linux (CI does).");
        }

        Run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", _mount);
        _mounted = true;
        var path = Path.Combine(_mount, "jobs.db");
        var ids = new List<JobId>();
        await using (var store = new SqliteJobStore(new SqliteJobStoreOptions { ConnectionString = $"Data Source={path}" }))
        {
            for (var i = 0; i < 5; i++)
            {
                ids.Add((await store.InsertAsync(NewJob("{}"))).Job.Id);
            }
        }

        // The last connection closed: the write-ahead log is checkpointed and removed. Root ignores
        // file modes, so the medium itself goes read-only.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Run("mount", "-o", "remount,ro", _mount);

        await using var readOnly = new SqliteJobStore(new SqliteJobStoreOptions { ConnectionString = $"Data Source={path}" });
        var page = await readOnly.ListAsync(new JobQuery());
        Assert.Equal(ids.OrderBy(id => id.Value).ToList(), page.Items.Select(j => j.Id).OrderBy(id => id.Value).ToList());
        Assert.NotNull(await readOnly.GetAsync(ids[0]));
        var error = await Assert.ThrowsAsync<SqliteJobStoreException>(async () => await readOnly.InsertAsync(NewJob("{}")));
        Assert.Contains("read-only", error.Message, StringComparison.Ordinal);
    }

    private static JobSnapshot NewJob(string payload)
    {
        var now = TimeProvider.System.GetUtcNow();
        return new JobSnapshot { Id = JobId.New(now), Type = "t", Queue = "default", Payload = payload, CreatedAt = now, ScheduledAt = now };
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
        }
    }
}
