using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace JobRuntime.Tests.Pipeline;

/// <summary>Result caching from the manager: a recent result is reused, the handler does not run again.</summary>
public sealed class ResultCacheTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ASubmitWithTheSameKey_WithinTheWindow_GetsTheResultWithoutRunning()
    {
        var time = new FakeTimeProvider();
        await using var runtime = TestRuntime.Create(time: time);
        var options = new JobSubmitOptions { IdempotencyKey = "probe-21", CacheResultFor = TimeSpan.FromMinutes(10) };

        var first = await runtime.Manager.SubmitAsync(new FailArgs("cached", FailTimes: 0), options);
        Assert.Equal(1, await runtime.Manager.WaitForResultAsync<int>(first).WaitAsync(Guard));
        runtime.Advance(time, TimeSpan.FromMinutes(9));

        var second = await runtime.Manager.SubmitAsync(new FailArgs("cached", FailTimes: 0), options);
        Assert.NotEqual(first, second);
        Assert.Equal(1, await runtime.Manager.WaitForResultAsync<int>(second).WaitAsync(Guard));
        var served = (await runtime.Manager.GetAsync(second))!;
        Assert.Equal(first, served.CachedFrom);
        Assert.Equal(first, served.ToView().CachedFrom);
        Assert.Equal(1, runtime.Gates.Attempts("cached"));

        // Past the window it runs again.
        runtime.Advance(time, TimeSpan.FromMinutes(2));
        var third = await runtime.Manager.SubmitAsync(new FailArgs("cached", FailTimes: 0), options);
        Assert.Equal(2, await runtime.Manager.WaitForResultAsync<int>(third).WaitAsync(Guard));
        Assert.Null((await runtime.Manager.GetAsync(third))!.CachedFrom);
    }

    [Fact]
    public async Task CacheResultFor_WithoutAKeyOrWithABadWindow_IsRefusedAndNothingIsStored()
    {
        await using var runtime = TestRuntime.Create();

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await runtime.Manager.SubmitAsync(new EchoArgs(1), new JobSubmitOptions { CacheResultFor = TimeSpan.FromSeconds(-1) }));

        Assert.Contains("CacheResultFor must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheResultFor needs an IdempotencyKey", error.Message, StringComparison.Ordinal);
        Assert.Empty((await runtime.Manager.ListAsync()).Items);
    }
}
