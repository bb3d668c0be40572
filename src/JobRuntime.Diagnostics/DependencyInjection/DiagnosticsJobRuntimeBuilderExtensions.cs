using JobRuntime;
using JobRuntime.Diagnostics;
using JobRuntime.ThreadDumps;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the JobRuntime.Diagnostics thread-dump providers.</summary>
public static class DiagnosticsJobRuntimeBuilderExtensions
{
    /// <summary>
    /// Thread dumps (at timeouts, on stalls, on demand, on SIGQUIT) list every managed thread's
    /// stack, captured with EventPipe; with <see cref="ThreadDumpDiagnosticsOptions.DeepMode"/>, a
    /// heap dump read with ClrMD is tried first. Where neither is available the core provider answers.
    /// </summary>
    /// <param name="builder">The runtime builder.</param>
    /// <param name="configure">Sets the options; optional.</param>
    /// <returns>The builder.</returns>
    public static JobRuntimeBuilder AddThreadDumpDiagnostics(this JobRuntimeBuilder builder, Action<ThreadDumpDiagnosticsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<ThreadDumpDiagnosticsOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ThreadDumpDiagnosticsOptions>, ThreadDumpDiagnosticsOptionsValidator>());

        // Both registered; the heap dump takes part only in deep mode, read from the options when
        // they are built, so configuration bound after this call (appsettings, Configure) counts.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IThreadDumpProvider, HeapDumpThreadDumpProvider>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IThreadDumpProvider, EventPipeThreadDumpProvider>());
        return builder;
    }
}
