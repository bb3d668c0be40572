using JobRuntime.Management;
using JobRuntime.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace JobRuntime.Hosting;

/// <summary>
/// Opens the store and starts dispatching when the host starts (recovery of expired leases runs at
/// once, beside the first claims) and, when the host stops, stops claiming, waits for running jobs up
/// to <see cref="JobRuntimeOptions.ShutdownTimeout"/>, then cancels the rest and hands them back to
/// the store so that a durable store runs them again.
/// </summary>
internal sealed class JobRuntimeHostedService(JobDispatcher dispatcher, IJobStore store, IOptions<JobRuntimeOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // One read before anything runs: a durable store opens (creates or migrates) on first use,
        // so a store that cannot open (a path it cannot create, a server it cannot reach, a schema
        // too new) fails the host's start with its own clear error, instead of every submit failing
        // later while the claim loop logs and backs off.
        await store.GetAsync(default, cancellationToken).ConfigureAwait(false);
        dispatcher.EnsureStarted();
    }

    public Task StopAsync(CancellationToken cancellationToken) => dispatcher.StopAsync(options.Value.ShutdownTimeout, cancellationToken);
}
