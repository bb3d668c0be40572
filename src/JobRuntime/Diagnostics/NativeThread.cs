using System.Runtime.InteropServices;

namespace JobRuntime.Diagnostics;

/// <summary>The operating system's id of the current thread, for matching dumps that know only OS ids.</summary>
internal static partial class NativeThread
{
    private static bool s_unavailable;

    public static long CurrentId()
    {
        if (s_unavailable || !OperatingSystem.IsLinux())
        {
            return 0;
        }

        try
        {
            return GetTid();
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return 0;
        }
    }

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetTid();
}
