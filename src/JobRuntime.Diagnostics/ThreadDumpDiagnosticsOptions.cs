using JobRuntime.ThreadDumps;

namespace JobRuntime.Diagnostics;

/// <summary>Options of the JobRuntime.Diagnostics thread-dump providers.</summary>
public sealed class ThreadDumpDiagnosticsOptions
{
    /// <summary>How long the EventPipe sample profiler runs: every managed thread is sampled about once per millisecond.</summary>
    /// <value>Default: 10 ms.</value>
    public TimeSpan SampleDuration { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Deep mode: a heap dump of the process read with ClrMD, tried before EventPipe. It adds thread
    /// names and every pending async call chain, takes about a second, writes a temporary file of
    /// the process's size (removed afterwards), and needs ptrace rights; the runtime's dump helper
    /// prints a few <c>[createdump]</c> lines to standard output.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool DeepMode { get; set; }

    /// <summary>Where temporary capture files go.</summary>
    /// <value>Default: <see langword="null"/>, the system's temporary folder.</value>
    public string? TempDirectory { get; set; }
}
