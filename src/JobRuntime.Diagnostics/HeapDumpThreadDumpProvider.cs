using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Runtime;
using Microsoft.Extensions.Options;

using JobRuntime.ThreadDumps;

namespace JobRuntime.Diagnostics;

/// <summary>
/// Deep mode: the runtime writes a heap dump of this process (through the diagnostics IPC channel
/// and its dump helper), which ClrMD then reads: every managed thread with its frames and name, and
/// every pending async call chain found on the heap. About a second, a temporary file of the
/// process's size (removed afterwards), and ptrace rights; where those are missing it reports
/// itself unavailable and the next provider is tried.
/// </summary>
public sealed class HeapDumpThreadDumpProvider : IThreadDumpProvider
{
    /// <summary>Task state flags of a task that has finished (ran to completion, faulted or cancelled).</summary>
    private const int Finished = 0x1000000 | 0x200000 | 0x400000;
    private const int MaxChainLength = 64;
    private const int MaxChains = 1000;

    private readonly ThreadDumpDiagnosticsOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the provider.</summary>
    /// <param name="options">Where the temporary dump goes.</param>
    /// <param name="time">The clock for <see cref="ThreadDump.CapturedAt"/>; the system clock when <see langword="null"/>.</param>
    public HeapDumpThreadDumpProvider(IOptions<ThreadDumpDiagnosticsOptions> options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string Name => "heapdump";

    /// <summary>Whether <see cref="ThreadDumpDiagnosticsOptions.DeepMode"/> is on.</summary>
    public bool IsEnabled => _options.DeepMode;

    /// <inheritdoc />
    public async ValueTask<ThreadDump> CaptureAsync(ThreadDumpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var capture = new Capture(_time);
        var path = TempFiles.NewPath(_options.TempDirectory, "dmp");
        try
        {
            try
            {
                await new DiagnosticsClient(Environment.ProcessId).WriteDumpAsync(DumpType.WithHeap, path, logDumpGeneration: false, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ServerNotAvailableException or ServerErrorException or UnsupportedCommandException or EndOfStreamException or IOException)
            {
                throw new ThreadDumpUnavailableException($"the runtime could not write a heap dump ({ex.Message}); it needs the diagnostics IPC channel and ptrace rights.", ex);
            }

            // The dump is written: reading it no longer needs the threads where they were.
            request.SnapshotTaken();
            cancellationToken.ThrowIfCancellationRequested();
            using var target = DataTarget.LoadDump(path);
            if (target.ClrVersions.Length == 0)
            {
                throw new ThreadDumpUnavailableException("the heap dump holds no .NET runtime.");
            }

            using var runtime = target.ClrVersions[0].CreateRuntime();
            var (names, boxes) = WalkHeap(runtime.Heap);
            var threads = new List<ThreadDumpThread>();
            foreach (var thread in runtime.Threads)
            {
                if (!thread.IsAlive)
                {
                    continue;
                }

                threads.Add(new ThreadDumpThread
                {
                    ManagedThreadId = thread.ManagedThreadId,
                    OsThreadId = thread.OSThreadId,
                    Name = names.GetValueOrDefault(thread.ManagedThreadId),
                    Frames = [.. Frames(thread)],
                });
            }

            cancellationToken.ThrowIfCancellationRequested();
            return capture.Dump(Name, request, threads, PendingChains(boxes));
        }
        finally
        {
            TempFiles.Delete(path);
        }
    }

    private static IEnumerable<string> Frames(ClrThread thread)
    {
        foreach (var frame in thread.EnumerateStackTrace())
        {
            if (frame.Method is { } method)
            {
                yield return method.Signature ?? method.Name ?? "[unknown method]";
            }
            else if (frame.FrameName is { Length: > 0 } runtimeFrame)
            {
                yield return $"[{runtimeFrame}]";
            }
        }
    }

    /// <summary>
    /// One walk of the heap (the expensive part of reading a dump): managed thread id → name from
    /// its <see cref="Thread"/> objects, and the unfinished async state-machine boxes with the
    /// object each continues into.
    /// </summary>
    private static (Dictionary<int, string> Names, Dictionary<ulong, (string Method, ulong Continuation)> Boxes) WalkHeap(ClrHeap heap)
    {
        var names = new Dictionary<int, string>();
        var boxes = new Dictionary<ulong, (string Method, ulong Continuation)>();
        foreach (var obj in heap.EnumerateObjects())
        {
            if (obj.Type?.Name is not { } type)
            {
                continue;
            }

            if (type == "System.Threading.Thread")
            {
                if (obj.ReadStringField("_name") is { } name)
                {
                    names[obj.ReadField<int>("_managedThreadId")] = name;
                }
            }
            else if (type.Contains("AsyncStateMachineBox", StringComparison.Ordinal) && (obj.ReadField<int>("m_stateFlags") & Finished) == 0)
            {
                var continuation = obj.ReadObjectField("m_continuationObject");
                boxes[obj.Address] = (MethodOf(obj), continuation.IsNull ? 0 : continuation.Address);
            }
        }

        return (names, boxes);
    }

    /// <summary>
    /// The pending boxes linked through their continuations (a box awaited by an async method has
    /// that method's box as its continuation): each chain from the outermost method to the innermost.
    /// </summary>
    private static List<IReadOnlyList<string>> PendingChains(Dictionary<ulong, (string Method, ulong Continuation)> boxes)
    {
        // The innermost boxes are those no other pending box continues into.
        var awaitedBy = new HashSet<ulong>(boxes.Values.Select(b => b.Continuation));
        var chains = new List<IReadOnlyList<string>>();
        foreach (var (address, _) in boxes)
        {
            if (awaitedBy.Contains(address) || chains.Count >= MaxChains)
            {
                continue;
            }

            var chain = new List<string>();
            var seen = new HashSet<ulong>();
            for (var at = address; boxes.TryGetValue(at, out var box) && seen.Add(at) && chain.Count < MaxChainLength; at = box.Continuation)
            {
                chain.Add(box.Method);
            }

            chain.Reverse();
            chains.Add(chain);
        }

        return [.. chains.OrderBy(c => string.Join('/', c), StringComparer.Ordinal)];
    }

    /// <summary>"Namespace.Type.Method" from a box's state machine type ("Namespace.Type+&lt;Method&gt;d__3").</summary>
    private static string MethodOf(ClrObject box)
    {
        var field = box.Type!.GetFieldByName("StateMachine");
        var typeName = field?.Type?.Name;
        if (field is { IsObjectReference: true })
        {
            // Shared generic code types reference state machines as __Canon: read the object's own type.
            typeName = box.ReadObjectField("StateMachine").Type?.Name ?? typeName;
        }

        if (typeName is null)
        {
            return "[unknown async method]";
        }

        // "Owner+<Method>d__1" or, in generic code, "Owner<T>+<Method>d__1<T>".
        var open = typeName.LastIndexOf("+<", StringComparison.Ordinal);
        var close = open < 0 ? -1 : typeName.IndexOf('>', open + 2);
        if (close < 0)
        {
            return typeName;
        }

        return $"{typeName[..open].Replace('+', '.')}.{typeName[(open + 2)..close]}";
    }
}
