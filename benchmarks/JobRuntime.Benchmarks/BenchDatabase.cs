namespace JobRuntime.Benchmarks;

/// <summary>Throw-away SQLite files for one measurement.</summary>
public static class BenchDatabase
{
    /// <summary>A new database path in the temp folder.</summary>
    public static string NewPath() => Path.Combine(Path.GetTempPath(), $"jobruntime-bench-{Guid.NewGuid():N}.db");

    /// <summary>Closes the pooled connections and deletes the file with its -wal and -shm.</summary>
    public static void Delete(string path)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*"))
        {
            File.Delete(file);
        }
    }
}
