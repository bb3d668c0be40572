namespace JobRuntime.Execution;

/// <summary>An auto-reset signal: <see cref="Set"/> wakes one pending or the next <see cref="WaitAsync"/>.</summary>
internal sealed class AsyncSignal
{
    private readonly Lock _gate = new();
    private TaskCompletionSource? _waiter;
    private bool _set;

    public void Set()
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            waiter = _waiter;
            _waiter = null;
            _set = waiter is null;
        }

        waiter?.TrySetResult();
    }

    /// <summary>Waits until set or until <paramref name="timeout"/> passes on <paramref name="time"/>.</summary>
    /// <returns><see langword="true"/> when signalled.</returns>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_gate)
        {
            if (_set)
            {
                _set = false;
                return true;
            }

            waiter = _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        try
        {
            await waiter.Task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            lock (_gate)
            {
                if (ReferenceEquals(_waiter, waiter))
                {
                    // Nobody set it: withdraw the waiter so that the next Set is remembered.
                    _waiter = null;
                }
                else if (ex is TimeoutException)
                {
                    // Set raced with the timeout and consumed this waiter: count it as signalled.
                    return true;
                }
                else
                {
                    // Cancelled while a Set arrived: keep the signal for the next waiter.
                    _set = true;
                }
            }

            if (ex is OperationCanceledException)
            {
                throw;
            }

            return false;
        }
    }
}
