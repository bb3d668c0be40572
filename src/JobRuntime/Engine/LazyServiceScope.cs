using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Engine;

/// <summary>
/// An attempt's DI scope, made on first use: a handler created without DI that never touches
/// <see cref="JobContext.Services"/> costs no scope. Disposed with the attempt (async when the scope
/// supports it). A mutable struct kept in the run it serves (<see cref="JobRun"/>): no object of its own.
/// </summary>
internal struct LazyServiceScope
{
    private IServiceScope? _scope;

    /// <summary>Resolves from the scope, making it first if this is the first use (once, whichever thread asks first).</summary>
    public object? GetService(IServiceScopeFactory factory, Type serviceType)
    {
        var scope = Volatile.Read(ref _scope);
        if (scope is null)
        {
            var made = factory.CreateScope();
            scope = Interlocked.CompareExchange(ref _scope, made, null);
            if (scope is null)
            {
                scope = made;
            }
            else
            {
                // Another thread of the handler made one first: keep theirs.
                made.Dispose();
            }
        }

        return scope.ServiceProvider.GetService(serviceType);
    }

    /// <summary>Disposes the scope if one was made.</summary>
    public ValueTask DisposeAsync()
    {
        switch (Interlocked.Exchange(ref _scope, null))
        {
            case IAsyncDisposable asyncScope:
                return asyncScope.DisposeAsync();
            case { } scope:
                scope.Dispose();
                return ValueTask.CompletedTask;
            default:
                return ValueTask.CompletedTask;
        }
    }
}
