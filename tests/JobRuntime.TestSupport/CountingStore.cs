using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.ExceptionServices;
using JobRuntime.Storage;

namespace JobRuntime.TestSupport;

/// <summary>
/// A decorator for any <see cref="IJobStore"/> that passes every call through and counts them by
/// method name. It implements <see cref="IJobStore"/> only: a runtime that found the store's other
/// capabilities by casting would lose them behind it.
/// </summary>
public class CountingStore : DispatchProxy
{
    private IJobStore _inner = null!;

    /// <summary>Calls by method name.</summary>
    public ConcurrentDictionary<string, int> Calls { get; } = new(StringComparer.Ordinal);

    public int CallsTo(string method) => Calls.TryGetValue(method, out var n) ? n : 0;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="counter"/> reads the counts.</summary>
    public static IJobStore Wrap(IJobStore inner, out CountingStore counter)
    {
        var store = Create<IJobStore, CountingStore>();
        counter = (CountingStore)(object)store;
        counter._inner = inner;
        return store;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        Calls.AddOrUpdate(targetMethod.Name, 1, static (_, n) => n + 1);
        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}
