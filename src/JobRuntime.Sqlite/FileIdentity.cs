using System.Runtime.InteropServices;

namespace JobRuntime.Sqlite;

/// <summary>
/// A file's device and inode numbers, read with the C library's <c>stat</c>: the same path with
/// another identity is another file (the first was deleted or replaced). Both are the first two
/// 64-bit fields of <c>struct stat</c> on Linux x86-64 and ARM64; elsewhere the identity is unknown.
/// </summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    private static bool s_unavailable = !OperatingSystem.IsLinux() || !(RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64);

    /// <summary>Room for <c>struct stat</c>: 144 bytes on x86-64, 128 on ARM64.</summary>
    public const int StatSize = 256;

    /// <summary>The identity of the file at <paramref name="path"/>; a zero identity when there is no file; <see langword="null"/> when it cannot be read here.</summary>
    public static FileIdentity? Of(string path) => Of(path, new byte[StatSize]);

    /// <summary>As <see cref="Of(string)"/>, reading into <paramref name="buffer"/> (<see cref="StatSize"/> bytes).</summary>
    public static FileIdentity? Of(string path, byte[] buffer)
    {
        if (s_unavailable || string.IsNullOrEmpty(path) || path == ":memory:")
        {
            return null;
        }

        try
        {
            return Stat(path, buffer) == 0
                ? new FileIdentity(BitConverter.ToUInt64(buffer, 0), BitConverter.ToUInt64(buffer, 8))
                : new FileIdentity(0, 0);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            // A C library without an exported stat (glibc before 2.33, musl variants): no check.
            s_unavailable = true;
            return null;
        }
    }

    [DllImport("libc", EntryPoint = "stat", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Stat(string path, byte[] buffer);
}
