using JobRuntime.Health;
using JobRuntime.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the job runtime's health check.</summary>
public static class JobRuntimeHealthChecksBuilderExtensions
{
    /// <summary>
    /// Checks the job runtime: the store answers within <paramref name="timeout"/> (else
    /// <paramref name="failureStatus"/>); its signal channel is connected (PostgreSQL's listener), a
    /// node holds the maintenance leadership, and no queue's oldest ready job has waited longer than
    /// <paramref name="readyJobWaitLimit"/> (else degraded). Each queue's ready and running counts and
    /// its oldest ready job's wait go in the result's data.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status when the store fails or does not answer; <see cref="HealthStatus.Unhealthy"/> when <see langword="null"/>.</param>
    /// <param name="tags">Tags to filter checks by (for example "ready").</param>
    /// <param name="readyJobWaitLimit">How long a ready job may wait for a slot before the runtime counts as degraded; 5 minutes when <see langword="null"/>.</param>
    /// <param name="timeout">How long the store may take to answer; 5 seconds when <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A limit is not positive.</exception>
    public static IHealthChecksBuilder AddJobRuntime(
        this IHealthChecksBuilder builder,
        string name = "jobruntime",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? readyJobWaitLimit = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var settings = new JobRuntimeHealthCheckSettings(readyJobWaitLimit ?? TimeSpan.FromMinutes(5), timeout ?? TimeSpan.FromSeconds(5));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(settings.ReadyJobWaitLimit, TimeSpan.Zero, nameof(readyJobWaitLimit));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(settings.Timeout, TimeSpan.Zero, nameof(timeout));
        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new JobRuntimeHealthCheck(
                sp.GetRequiredService<IJobStore>(),
                sp.GetService<TimeProvider>() ?? TimeProvider.System,
                settings,
                sp.GetService<IJobStoreStatistics>(),
                sp.GetService<IJobStoreSignals>(),
                sp.GetService<IJobStoreLeadership>()),
            failureStatus,
            tags));
    }
}
