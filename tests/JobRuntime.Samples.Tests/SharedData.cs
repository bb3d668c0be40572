namespace JobRuntime.Samples.Tests;

/// <summary>Finds ../shared/data beside the project root (or JOBRUNTIME_SHARED_DATA).</summary>
internal static class SharedData
{
    private static readonly Lazy<string> Root = new(Find);

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);

    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("JOBRUNTIME_SHARED_DATA") is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "JobRuntime.sln")))
            {
                string data = System.IO.Path.Combine(dir.FullName, "..", "shared", "data");
                return Directory.Exists(data)
                    ? System.IO.Path.GetFullPath(data)
                    : throw new DirectoryNotFoundException($"The reference data folder {data} (../shared/data beside the project root) is missing.");
            }
        }

        throw new DirectoryNotFoundException("JobRuntime.sln was not found above the test assembly; set JOBRUNTIME_SHARED_DATA.");
    }
}
