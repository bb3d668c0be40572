using Microsoft.Extensions.Time.Testing;

namespace JobRuntime.Tests.Execution;

public sealed class AsyncSignalTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task SetBeforeTheWait_IsRemembered_Once()
    {
        using var signal = new AsyncSignal();
        signal.Set();
        signal.Set();

        Assert.True(await signal.WaitAsync(Timeout, _time, CancellationToken.None));
        var second = signal.WaitAsync(Timeout, _time, CancellationToken.None);
        Assert.False(second.IsCompleted);
        _time.Advance(Timeout);
        Assert.False(await second);
    }

    [Fact]
    public async Task SetDuringTheWait_WakesIt_AndALaterTimerTickChangesNothing()
    {
        using var signal = new AsyncSignal();
        var wait = signal.WaitAsync(Timeout, _time, CancellationToken.None);
        signal.Set();
        Assert.True(await wait);

        _time.Advance(Timeout);
        var next = signal.WaitAsync(Timeout, _time, CancellationToken.None);
        Assert.False(next.IsCompleted);
        signal.Set();
        Assert.True(await next);
    }

    [Fact]
    public async Task ManyWaits_OneTimerReArmed_EachTimesOutExactlyAtItsDeadline()
    {
        using var signal = new AsyncSignal();
        for (int i = 0; i < 100; i++)
        {
            var wait = signal.WaitAsync(Timeout, _time, CancellationToken.None);
            _time.Advance(Timeout - TimeSpan.FromTicks(1));
            Assert.False(wait.IsCompleted, $"wait {i} ended before its deadline");
            _time.Advance(TimeSpan.FromTicks(1));
            Assert.False(await wait);
        }
    }

    [Fact]
    public async Task CancelledToken_EndsTheWaitWithOperationCanceled_AndTheSignalStillWorks()
    {
        using var signal = new AsyncSignal();
        using var cts = new CancellationTokenSource();
        var wait = signal.WaitAsync(Timeout, _time, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await wait);

        Assert.True(await Task.Run(async () =>
        {
            var again = signal.WaitAsync(Timeout, _time, CancellationToken.None);
            signal.Set();
            return await again;
        }));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await signal.WaitAsync(Timeout, _time, cts.Token));
    }

    [Fact]
    public async Task SecondConcurrentWaiter_IsRefused_DisposeEndsThePendingWait()
    {
        var signal = new AsyncSignal();
        var wait = signal.WaitAsync(System.Threading.Timeout.InfiniteTimeSpan, _time, CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => signal.WaitAsync(Timeout, _time, CancellationToken.None));

        signal.Dispose();
        Assert.False(await wait);
    }
}
