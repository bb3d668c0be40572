using JobRuntime;
using JobRuntime.Diagnostics;
using JobRuntime.ThreadDumps;
using Microsoft.Extensions.DependencyInjection.Extensions;

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

        options.Validate(o => o.SampleDuration > TimeSpan.Zero && o.SampleDuration <= TimeSpan.FromSeconds(10), "SampleDuration must be above zero and at most 10 seconds.")
            .Validate(o => o.TempDirectory is null || Directory.Exists(o.TempDirectory), "TempDirectory must be an existing folder.");
        var chosen = new ThreadDumpDiagnosticsOptions();
        configure?.Invoke(chosen);
        if (chosen.DeepMode)
        {
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IThreadDumpProvider, HeapDumpThreadDumpProvider>());
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IThreadDumpProvider, EventPipeThreadDumpProvider>());
        return builder;
    }
}
