namespace JobRuntime.Diagnostics;

/// <summary>Temporary capture files: unique names, removed after use even when the capture failed.</summary>
internal static class TempFiles
{
    public static string NewPath(string? directory, string extension) =>
        Path.Combine(directory ?? Path.GetTempPath(), $"jobruntime-{Environment.ProcessId}-{Guid.NewGuid():N}.{extension}");

    public static void Delete(string? path)
    {
        if (path is null)
        {
            return;
        }

        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a file that cannot be removed now is left for the OS's temp cleanup.
        }
    }
}
