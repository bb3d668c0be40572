using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Engine;

/// <summary>
/// An attempt's DI scope, made on first use: a handler created without DI that never touches
/// <see cref="JobContext.Services"/> costs no scope. Disposed with the attempt (async when the
/// scope supports it).
/// </summary>
internal sealed class LazyServiceScope(IServiceScopeFactory factory) : IServiceProvider, IAsyncDisposable
{
    private IServiceScope? _scope;

    public object? GetService(Type serviceType)
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
