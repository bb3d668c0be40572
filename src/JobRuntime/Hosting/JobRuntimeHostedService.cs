using JobRuntime.Management;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace JobRuntime.Hosting;

/// <summary>
/// Starts dispatching when the host starts (expired leases are recovered first) and, when the host
/// stops, stops claiming, waits for running jobs up to <see cref="JobRuntimeOptions.ShutdownTimeout"/>,
/// then cancels the rest and hands them back to the store so that a durable store runs them again.
/// </summary>
internal sealed class JobRuntimeHostedService(JobDispatcher dispatcher, IOptions<JobRuntimeOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        dispatcher.EnsureStarted();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => dispatcher.StopAsync(options.Value.ShutdownTimeout, cancellationToken);
}
