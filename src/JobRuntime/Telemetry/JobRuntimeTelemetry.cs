namespace JobRuntime;

/// <summary>
/// The runtime's metrics (<see cref="System.Diagnostics.Metrics.Meter"/> "JobRuntime") and tracing (<see cref="System.Diagnostics.ActivitySource"/>
/// "JobRuntime"). OpenTelemetry picks both up by name; no dependency on its SDK.
/// </summary>
public static class JobRuntimeTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "JobRuntime";

    /// <summary>The version the meter and the activity source report: this package's version (without build metadata).</summary>
    public static string Version { get; } = ReadVersion();

    private static string ReadVersion()
    {
        var informational = typeof(JobRuntimeTelemetry).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), inherit: false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>()
            .FirstOrDefault()?.InformationalVersion;
        return informational is null ? "0.0.0" : informational.Split('+')[0];
    }
}
