using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace JobRuntime.Benchmarks;

/// <summary>
/// Where the bytes go: listens to the runtime's allocation ticks (one event per ~100 KB allocated,
/// naming the type whose allocation crossed the threshold), a sample proportional to bytes, and
/// prints the types with their share. Used by <c>--steady --alloc-profile</c>.
/// </summary>
internal sealed class AllocationProfile : EventListener
{
    private const int GcKeyword = 0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _on;

    public void Start() => _on = true;

    public void Stop() => _on = false;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_on || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var type = eventData.Payload![eventData.PayloadNames.IndexOf("TypeName")] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[eventData.PayloadNames.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }

    public void Print(int jobs, int top = 25)
    {
        var total = _bytes.Values.Sum();
        Console.WriteLine(FormattableString.Invariant($"allocation sample: {total / (double)jobs:N0} B per job in ticks; top types (share of sampled bytes, ≈ bytes per job):"));
        foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine(FormattableString.Invariant($"  {100.0 * bytes / total,5:0.0} %  {bytes / (double)jobs,6:N0} B  {type}"));
        }
    }
}
