using System.Threading.Tasks.Sources;

namespace JobRuntime;

/// <summary>
/// An auto-reset signal for one waiting loop: <see cref="Set"/> wakes the pending
/// <see cref="WaitAsync"/> or, with none pending, the next one. Waits allocate nothing: the signal
/// is its own value-task source and keeps one timer, re-armed per wait, for the timeout.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource<bool>, IDisposable
{
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private bool _set;
    private bool _waiting;
    private long _deadline;
    private ITimer? _timer;
    private TimeProvider? _timerTime;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    public void Set()
    {
        // Already set and not yet taken: the next wait returns at once and sees whatever the caller
        // changed before this call (the flag is taken under the lock, after this read). Many setters
        // (a submit, every finished job) then cost a read, not a lock.
        if (Volatile.Read(ref _set))
        {
            return;
        }

        lock (_gate)
        {
            if (!_waiting)
            {
                _set = true;
                return;
            }

            _waiting = false;
            _core.SetResult(true);
        }
    }

    /// <summary>Waits until set or until <paramref name="timeout"/> passes on <paramref name="time"/>. One waiter at a time.</summary>
    /// <returns><see langword="true"/> when signalled, <see langword="false"/> when the time ran out.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> tripped first.</exception>
    public ValueTask<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        short version;
        lock (_gate)
        {
            if (_set)
            {
                _set = false;
                return ValueTask.FromResult(true);
            }

            if (_waiting)
            {
                throw new InvalidOperationException("AsyncSignal serves one waiter at a time.");
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<bool>(cancellationToken);
            }

            if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            {
                return ValueTask.FromResult(false);
            }

            _core.Reset();
            version = _core.Version;
            _waiting = true;
            _token = cancellationToken;
            // Rounded down, so that a timer firing on time (a fake clock's, exactly) is never taken for an early one.
            _deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : time.GetTimestamp() + (long)Math.Floor(timeout.Ticks / (double)TimeSpan.TicksPerSecond * time.TimestampFrequency);
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                if (_timer is null || !ReferenceEquals(_timerTime, time))
                {
                    _timer?.Dispose();
                    _timerTime = time;
                    _timer = time.CreateTimer(static s => ((AsyncSignal)s!).OnTimer(), this, timeout, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    _timer.Change(timeout, Timeout.InfiniteTimeSpan);
                }
            }
        }

        if (cancellationToken.CanBeCanceled)
        {
            // Outside the lock: a token that trips now runs the callback here, which takes the lock.
            _registration = cancellationToken.UnsafeRegister(static s => ((AsyncSignal)s!).OnCancelled(), this);
        }

        return new ValueTask<bool>(this, version);
    }

    /// <summary>Releases the timer; a pending wait ends as if its time ran out.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
            _timerTime = null;
            if (_waiting)
            {
                _waiting = false;
                _core.SetResult(false);
            }
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _registration.Dispose();
            _registration = default;
        }
    }

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void OnTimer()
    {
        lock (_gate)
        {
            if (!_waiting)
            {
                return;
            }

            // Early: a late callback of an earlier arming, or a timer coarser than the clock. Wait out the rest.
            var remaining = _deadline - _timerTime!.GetTimestamp();
            if (remaining > 0)
            {
                _timer!.Change(TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(remaining * 1000.0 / _timerTime.TimestampFrequency))), Timeout.InfiniteTimeSpan);
                return;
            }

            _waiting = false;
            _core.SetResult(false);
        }
    }

    private void OnCancelled()
    {
        lock (_gate)
        {
            if (!_waiting || !_token.IsCancellationRequested)
            {
                return;
            }

            _waiting = false;
            _core.SetException(new OperationCanceledException(_token));
        }
    }
}
