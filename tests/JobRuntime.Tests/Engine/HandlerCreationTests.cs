using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Tests.Engine;

/// <summary>How each attempt gets its handler and its DI scope.</summary>
public sealed class HandlerCreationTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    public sealed record Probe(bool UseServices);

    /// <summary>Counts the scoped services made and disposed.</summary>
    public sealed class Tracker
    {
        private int _made;
        private int _disposed;

        public int Made => Volatile.Read(ref _made);

        public int Disposed => Volatile.Read(ref _disposed);

        public void OnMade() => Interlocked.Increment(ref _made);

        public void OnDisposed() => Interlocked.Increment(ref _disposed);
    }

    public sealed class ScopedThing : IDisposable
    {
        private readonly Tracker _tracker;

        public ScopedThing(Tracker tracker)
        {
            _tracker = tracker;
            tracker.OnMade();
        }

        public void Dispose() => _tracker.OnDisposed();
    }

    /// <summary>Asks for nothing; reaches its attempt's scope through the context when told to.</summary>
    public sealed class PlainHandler : IJobHandler<Probe, int>
    {
        private static int s_instances;

        public PlainHandler() => Interlocked.Increment(ref s_instances);

        public static int Instances => Volatile.Read(ref s_instances);

        public ValueTask<int> ExecuteAsync(Probe args, JobContext context)
        {
            if (args.UseServices)
            {
                var a = context.Services.GetRequiredService<ScopedThing>();
                var b = context.Services.GetRequiredService<ScopedThing>();
                return ValueTask.FromResult(ReferenceEquals(a, b) ? 1 : 2);
            }

            return ValueTask.FromResult(0);
        }
    }

    /// <summary>Takes a scoped service in its constructor: made from the attempt's scope.</summary>
    public sealed class ScopedHandler(ScopedThing thing) : IJobHandler<Probe, int>
    {
        public ValueTask<int> ExecuteAsync(Probe args, JobContext context)
            => ValueTask.FromResult(ReferenceEquals(thing, context.Services.GetRequiredService<ScopedThing>()) ? 1 : 2);
    }

    /// <summary>Asks for nothing, but the application registers it as a singleton first.</summary>
    public sealed class SingletonHandler : IJobHandler<Probe, int>
    {
        private int _runs;

        public ValueTask<int> ExecuteAsync(Probe args, JobContext context) => ValueTask.FromResult(Interlocked.Increment(ref _runs));
    }

    private static TestSupport.TestRuntime Start(Tracker tracker) => TestSupport.TestRuntime.Create(builder: b =>
    {
        b.Services.AddSingleton(tracker);
        b.Services.AddScoped<ScopedThing>();
        b.Services.AddSingleton<SingletonHandler>();
        b.AddHandler<PlainHandler>("plain").AddHandler<ScopedHandler>("scoped").AddHandler<SingletonHandler>("singleton");
    });

    [Fact]
    public async Task AHandlerThatAsksForNothing_IsMadePerAttempt_AndItsScopeOnlyWhenUsed()
    {
        var tracker = new Tracker();
        await using var runtime = Start(tracker);
        var before = PlainHandler.Instances;

        Assert.Equal(0, await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync("plain", new Probe(false))).WaitAsync(Guard));
        Assert.Equal(0, await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync("plain", new Probe(false))).WaitAsync(Guard));
        Assert.Equal(2, PlainHandler.Instances - before);
        Assert.Equal(0, tracker.Made);

        // Through the context: one scope for the attempt (the same scoped instance twice), disposed at its end.
        Assert.Equal(1, await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync("plain", new Probe(true))).WaitAsync(Guard));
        Assert.Equal(1, tracker.Made);
        Assert.Equal(1, tracker.Disposed);
    }

    [Fact]
    public async Task AHandlerWithDependencies_SharesTheAttemptsScopeWithTheContext()
    {
        var tracker = new Tracker();
        await using var runtime = Start(tracker);

        Assert.Equal(1, await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync("scoped", new Probe(true))).WaitAsync(Guard));
        Assert.Equal(1, await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync("scoped", new Probe(true))).WaitAsync(Guard));
        Assert.Equal(2, tracker.Made);
        Assert.Equal(2, tracker.Disposed);
    }

    [Fact]
    public async Task AHandlerTheApplicationRegistered_KeepsTheLifetimeItChose()
    {
        await using var runtime = Start(new Tracker());

        var first = await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync("singleton", new Probe(false))).WaitAsync(Guard);
        var second = await runtime.Manager.WaitForResultAsync<int>(await runtime.Manager.SubmitAsync("singleton", new Probe(false))).WaitAsync(Guard);

        Assert.Equal([1, 2], new[] { first, second });
    }

    [Fact]
    public async Task LazyScope_IsMadeOnFirstUseOnly_OnceWhateverTheCalls_AndDisposedWithTheAttempt()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new Tracker());
        services.AddScoped<ScopedThing>();
        await using var root = services.BuildServiceProvider();
        var factory = new CountingScopeFactory(root.GetRequiredService<IServiceScopeFactory>());

        var unused = default(JobRuntime.Engine.LazyServiceScope);
        await unused.DisposeAsync();

        Assert.Equal(0, factory.Made);
        var scope = default(JobRuntime.Engine.LazyServiceScope);
        var thing = scope.GetService(factory, typeof(ScopedThing));
        Assert.Same(thing, scope.GetService(factory, typeof(ScopedThing)));
        Assert.Equal(1, factory.Made);
        await scope.DisposeAsync();
        Assert.Equal(1, root.GetRequiredService<Tracker>().Disposed);
    }

    [Fact]
    public void OnlyAHandlerThatAsksForNothing_IsMadeWithoutDI()
    {
        Assert.True(JobHandlerDescriptor<PlainHandler, Probe, int>.AsksForNothing());
        Assert.False(JobHandlerDescriptor<ScopedHandler, Probe, int>.AsksForNothing());
        Assert.False(JobHandlerDescriptor<DisposableHandler, Probe, int>.AsksForNothing());
    }

    /// <summary>Keeps its context past the attempt (a handler may hand it to work that outlives it).</summary>
    public sealed class KeepingHandler : IJobHandler<Probe, int>
    {
        public static JobContext? Kept { get; private set; }

        public ValueTask<int> ExecuteAsync(Probe args, JobContext context)
        {
            Kept = context;
            return ValueTask.FromResult(0);
        }
    }

    [Fact]
    public async Task AContextKeptPastItsAttempt_StillAnswers_ItsTokenUntripped()
    {
        await using var runtime = TestSupport.TestRuntime.Create(builder: b => b.AddHandler<KeepingHandler>("keeping"));
        var id = await runtime.Manager.SubmitAsync("keeping", new Probe(false));
        Assert.Equal(0, await runtime.Manager.WaitForResultAsync<int>(id).WaitAsync(Guard));

        // The attempt's token source is disposed by now; the context reads what the attempt was.
        var kept = KeepingHandler.Kept!;
        Assert.Equal(id, kept.JobId);
        Assert.Equal("keeping", kept.JobType);
        Assert.Equal(1, kept.Attempt);
        Assert.False(kept.CancellationToken.IsCancellationRequested);
        Assert.Empty(kept.Parents);
        Assert.NotNull(kept.Logger);

        // Its identity is read without the running snapshot, which is made on first read: both agree.
        Assert.Equal((kept.JobId, kept.JobType, kept.Attempt, kept.MaxAttempts), (kept.Job.Id, kept.Job.Type, kept.Job.Attempt, kept.Job.MaxAttempts));
        Assert.Equal(JobStatus.Running, kept.Job.Status);
        Assert.NotNull(kept.Job.StartedAt);
        Assert.Same(kept.Job, kept.Job);
    }

    public sealed class DisposableHandler : IJobHandler<Probe, int>, IDisposable
    {
        public ValueTask<int> ExecuteAsync(Probe args, JobContext context) => ValueTask.FromResult(0);

        public void Dispose()
        {
        }
    }

    private sealed class CountingScopeFactory(IServiceScopeFactory inner) : IServiceScopeFactory
    {
        private int _made;

        public int Made => Volatile.Read(ref _made);

        public IServiceScope CreateScope()
        {
            Interlocked.Increment(ref _made);
            return inner.CreateScope();
        }
    }
}
