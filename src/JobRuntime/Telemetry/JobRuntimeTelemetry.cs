namespace JobRuntime;

/// <summary>
/// The runtime's metrics (<see cref="System.Diagnostics.Metrics.Meter"/> "JobRuntime") and tracing (<see cref="System.Diagnostics.ActivitySource"/>
/// "JobRuntime"). OpenTelemetry picks both up by name; no dependency on its SDK.
/// </summary>
public static class JobRuntimeTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "JobRuntime";
}
