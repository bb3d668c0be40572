namespace JobRuntime.Samples.Accuracy;

/// <summary>Finds ../shared/data beside the repository root.</summary>
internal static class SharedData
{
    public static string Folder(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "JobRuntime.sln")))
            {
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", name));
            }
        }

        return Path.Combine("..", "shared", "data", name);
    }
}
