namespace JobRuntime.Testing;

/// <summary>How the suites let go of the store they made.</summary>
internal static class StoreDisposal
{
    public static async Task DisposeAsync(object? store)
    {
        switch (store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
