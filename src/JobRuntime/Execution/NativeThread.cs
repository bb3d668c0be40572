using System.Runtime.InteropServices;

namespace JobRuntime;

/// <summary>The operating system's id of the current thread, for matching dumps that know only OS ids.</summary>
internal static partial class NativeThread
{
    private static bool s_unavailable;

    /// <summary>The current thread's OS id, read once per thread (a system call otherwise).</summary>
    [ThreadStatic]
    private static long t_id;

    public static long CurrentId()
    {
        if (t_id != 0 || s_unavailable || !OperatingSystem.IsLinux())
        {
            return t_id;
        }

        try
        {
            return t_id = GetTid();
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
