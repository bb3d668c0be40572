namespace JobRuntime.Sqlite.Tests;

/// <summary>A fresh directory for one test's database files, removed afterwards.</summary>
public sealed class TempDatabase : IDisposable
{
    public TempDatabase()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "jobruntime-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string Path => System.IO.Path.Combine(Directory, "jobs.db");

    public string ConnectionString => $"Data Source={Path}";

    public SqliteJobStoreOptions Options(Action<SqliteJobStoreOptions>? configure = null)
    {
        var options = new SqliteJobStoreOptions { ConnectionString = ConnectionString };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>A store on this database, initialized.</summary>
    public async Task<JobRuntime.Storage.IJobStore> OpenStoreAsync(TimeProvider timeProvider)
    {
        var store = new SqliteJobStore(Options(), timeProvider);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
