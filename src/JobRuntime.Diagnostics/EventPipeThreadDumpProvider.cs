using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Extensions.Options;

using JobRuntime.ThreadDumps;

namespace JobRuntime.Diagnostics;

/// <summary>
/// All managed threads' stacks from a short EventPipe session with the runtime's sample profiler
/// (how <c>dotnet-stack</c> works): the process pauses for about one sampling period, needs no
/// ptrace rights, and the stacks name every managed frame, synchronous ones included. It needs the
/// diagnostics IPC channel: with <c>DOTNET_EnableDiagnostics=0</c> it reports itself unavailable and
/// the next provider is tried.
/// </summary>
public sealed class EventPipeThreadDumpProvider : IThreadDumpProvider
{
    private const string SampleProfiler = "Microsoft-DotNETCore-SampleProfiler";
    private const string Runtime = "Microsoft-Windows-DotNETRuntime";
    private readonly ThreadDumpDiagnosticsOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the provider.</summary>
    /// <param name="options">Sampling duration and where temporary files go.</param>
    /// <param name="time">The clock for <see cref="ThreadDump.CapturedAt"/>; the system clock when <see langword="null"/>.</param>
    public EventPipeThreadDumpProvider(IOptions<ThreadDumpDiagnosticsOptions> options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string Name => "eventpipe";

    /// <inheritdoc />
    public async ValueTask<ThreadDump> CaptureAsync(ThreadDumpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var capture = new Capture(_time);
        var trace = TempFiles.NewPath(_options.TempDirectory, "nettrace");
        string? etlx = null;
        try
        {
            await RecordAsync(trace, request.SnapshotTaken, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            etlx = TraceLog.CreateFromEventPipeDataFile(trace, Path.ChangeExtension(trace, ".etlx"));
            cancellationToken.ThrowIfCancellationRequested();
            return capture.Dump(Name, request, ReadFirstSamples(etlx));
        }
        finally
        {
            TempFiles.Delete(trace);
            TempFiles.Delete(etlx);
        }
    }

    private async Task RecordAsync(string path, Action sampled, CancellationToken cancellationToken)
    {
        var client = new DiagnosticsClient(Environment.ProcessId);
        EventPipeProvider[] providers =
        [
            new(SampleProfiler, EventLevel.Informational),

            // Methods compiled during the session; rundown at its end names the ones compiled before.
            new(Runtime, EventLevel.Informational, (long)(ClrTraceEventParser.Keywords.Jit | ClrTraceEventParser.Keywords.Loader)),
        ];

        EventPipeSession session;
        try
        {
            session = await client.StartEventPipeSessionAsync(providers, requestRundown: true, circularBufferMB: 256, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or ServerErrorException or UnsupportedCommandException or EndOfStreamException or IOException)
        {
            throw new ThreadDumpUnavailableException($"EventPipe is not available in this process ({ex.Message}); DOTNET_EnableDiagnostics=0 turns it off.", ex);
        }

        using (session)
        {
            var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                var copy = session.EventStream.CopyToAsync(file, CancellationToken.None);
                try
                {
                    await Task.Delay(_options.SampleDuration, cancellationToken).ConfigureAwait(false);

                    // Every thread has been sampled (about once a millisecond): stopping the session,
                    // its rundown and the parse no longer need the threads where they were, because
                    // each thread's first sample is the one kept.
                    sampled();
                }
                finally
                {
                    // Always stop, even when cancelled: a session left open keeps sampling the process.
                    await session.StopAsync(CancellationToken.None).ConfigureAwait(false);
                    await copy.ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// Each thread's first sample, innermost frame first: the one nearest the request (a timed-out
    /// job's token may trip once the sampling window is over, and the job then unwinds).
    /// </summary>
    private static List<ThreadDumpThread> ReadFirstSamples(string etlx)
    {
        var first = new Dictionary<int, IReadOnlyList<string>>();
        using (var log = new TraceLog(etlx))
        {
            foreach (var e in log.Events)
            {
                if (e.ProviderName != SampleProfiler || first.ContainsKey(e.ThreadID) || e.CallStack() is not { } stack)
                {
                    continue;
                }

                var frames = new List<string>();
                for (var frame = stack; frame is not null; frame = frame.Caller)
                {
                    var name = frame.CodeAddress.FullMethodName;
                    if (string.IsNullOrEmpty(name))
                    {
                        name = "[native code]";
                    }

                    // Runs of unnamed native frames say nothing more than one does.
                    if (frames.Count == 0 || frames[^1] != name || !name.StartsWith('['))
                    {
                        frames.Add(name);
                    }
                }

                first[e.ThreadID] = frames;
            }
        }

        return [.. first.Select(t => new ThreadDumpThread { OsThreadId = t.Key, Name = OsThreadName(t.Key), Frames = t.Value })];
    }

    /// <summary>The name the OS knows the thread by (the runtime sets it from <see cref="Thread.Name"/>, cut to 15 characters on Linux).</summary>
    private static string? OsThreadName(int osThreadId)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            var name = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/self/task/{osThreadId}/comm")).TrimEnd('\n');
            return name.Length == 0 ? null : name;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;    // the thread has exited since
        }
    }
}
