using JobRuntime.Engine;
using JobRuntime.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace JobRuntime.Hosting;

/// <summary>
/// Opens the store and starts dispatching when the host starts (recovery of expired leases runs at
/// once, beside the first claims) and, when the host stops, stops claiming, waits for running jobs
/// (<see cref="ShutdownWait"/>), then cancels the rest and hands them back to the store so that a
/// durable store runs them again — all within the host's own shutdown timeout.
/// </summary>
internal sealed class JobRuntimeHostedService(JobEngine engine, IJobStore store, IOptions<JobRuntimeOptions> options, IServiceProvider services) : IHostedService
{
    /// <summary>Time kept back at the end of the host's shutdown timeout for handing jobs back to the store.</summary>
    internal static readonly TimeSpan HandBackTime = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long shutdown waits for running jobs before cancelling them: <see cref="JobRuntimeOptions.ShutdownTimeout"/>,
    /// but never so long that the cancellation grace period and the hand-back would outlast the
    /// host's own shutdown timeout (30 s by default, as Kubernetes' grace period): a process stopped
    /// by its platform before handing its jobs back leaves them to lease expiry.
    /// </summary>
    internal TimeSpan ShutdownWait
    {
        get
        {
            var wait = options.Value.ShutdownTimeout;
            if (HostShutdownTimeout() is { } host)
            {
                var budget = host - options.Value.CancellationGracePeriod - HandBackTime;
                wait = budget < wait ? (budget > TimeSpan.Zero ? budget : TimeSpan.Zero) : wait;
            }

            return wait;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // One read before anything runs: a durable store opens (creates or migrates) on first use,
        // so a store that cannot open (a path it cannot create, a server it cannot reach, a schema
        // too new) fails the host's start with its own clear error, instead of every submit failing
        // later while the claim loop logs and backs off.
        await store.GetAsync(default, cancellationToken).ConfigureAwait(false);

        // Recurring jobs registered in code are stored now: one for a type no handler serves fails the start.
        if (services.GetService(typeof(RecurringJobs)) is RecurringJobs recurring)
        {
            await recurring.ApplyRegistrationsAsync(cancellationToken).ConfigureAwait(false);
        }

        engine.EnsureStarted();
    }

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(ShutdownWait, cancellationToken);

    /// <summary>
    /// The generic host's <c>HostOptions.ShutdownTimeout</c>, read without a reference to
    /// Microsoft.Extensions.Hosting (this package depends on its abstractions only); <see langword="null"/>
    /// when the host does not provide it.
    /// </summary>
    private TimeSpan? HostShutdownTimeout()
    {
        var hostOptions = Type.GetType("Microsoft.Extensions.Hosting.HostOptions, Microsoft.Extensions.Hosting", throwOnError: false);
        if (hostOptions is null)
        {
            return null;
        }

        var accessor = services.GetService(typeof(IOptions<>).MakeGenericType(hostOptions));
        var value = accessor?.GetType().GetProperty(nameof(IOptions<object>.Value))?.GetValue(accessor);
        return value?.GetType().GetProperty("ShutdownTimeout")?.GetValue(value) as TimeSpan?;
    }
}
