using System.Diagnostics.Metrics;
using JobRuntime.Telemetry;
using JobRuntime;
using JobRuntime.ThreadDumps;
using JobRuntime.Engine;
using JobRuntime.Hosting;
using JobRuntime.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the job runtime.</summary>
public static class JobRuntimeServiceCollectionExtensions
{
    /// <summary>Registers the job runtime with default options.</summary>
    /// <param name="services">The services.</param>
    /// <returns>A builder for handlers and the store.</returns>
    public static JobRuntimeBuilder AddJobRuntime(this IServiceCollection services) => services.AddJobRuntime(null);

    /// <summary>
    /// Registers the job runtime: <see cref="IJobManager"/>, <see cref="IJobExecutor"/>,
    /// <see cref="IProgressBroker"/>, an in-memory <see cref="IJobStore"/> unless another is
    /// configured, and a hosted service that starts and stops dispatching with the host. Safe to
    /// call more than once; option delegates add up.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets options; validated when the host starts (or on first use without a host).</param>
    /// <returns>A builder for handlers and the store.</returns>
    public static JobRuntimeBuilder AddJobRuntime(this IServiceCollection services, Action<JobRuntimeOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var optionsBuilder = services.AddOptions<JobRuntimeOptions>();
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobRuntimeOptions>, JobRuntimeOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        if (!services.Any(d => d.ServiceType == typeof(IJobStore)))
        {
            new JobRuntimeBuilder(services).UseInMemoryStore();
        }

        services.TryAddSingleton<ProgressBroker>();
        services.TryAddSingleton<IProgressBroker>(sp => sp.GetRequiredService<ProgressBroker>());
        services.TryAddSingleton<RunningWorkItems>();
        services.TryAddSingleton<IJobExecutor>(sp => new JobExecutor(sp.GetRequiredService<IOptions<JobRuntimeOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<RunningWorkItems>()));
        services.TryAddSingleton<JobHandlerRegistry>();
        services.TryAddSingleton(sp => new JobRuntimeMetrics(sp.GetService<IMeterFactory>(), () => sp.GetRequiredService<IJobExecutor>().RunningCount, sp.GetService<IJobStoreStatistics>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton<ThreadDumpService>();
        services.TryAddSingleton<IThreadDumpService>(sp => sp.GetRequiredService<ThreadDumpService>());
        services.TryAddSingleton<JobRuntime.WorkerManager>();
        services.TryAddSingleton<JobEngine>();
        services.TryAddSingleton<JobManager>();
        services.TryAddSingleton<IJobManager>(sp => sp.GetRequiredService<JobManager>());
        services.TryAddSingleton<RecurringJobs>();
        services.TryAddSingleton<IRecurringJobs>(sp => sp.GetRequiredService<RecurringJobs>());
        services.AddHostedService<JobRuntimeHostedService>();
        var builder = new JobRuntimeBuilder(services);
        builder.AddBuiltInHandlers();
        return builder;
    }
}
