using JobRuntime;

namespace OpenTelemetry.Metrics
{
    /// <summary>Adds JobRuntime's metrics to an OpenTelemetry meter provider.</summary>
    public static class JobRuntimeMeterProviderBuilderExtensions
    {
        /// <summary>
        /// Collects the meter "JobRuntime": jobs submitted, started, completed, failed, cancelled, timed
        /// out, retried and abandoned; queue wait and run duration; jobs running here; ready jobs and
        /// the oldest one's wait per queue, read from the store.
        /// </summary>
        /// <param name="builder">The meter provider builder.</param>
        /// <returns>The builder.</returns>
        public static MeterProviderBuilder AddJobRuntimeInstrumentation(this MeterProviderBuilder builder)
        {
            ArgumentNullException.ThrowIfNull(builder);
            return builder.AddMeter(JobRuntimeTelemetry.Name);
        }
    }
}

namespace OpenTelemetry.Trace
{
    /// <summary>Adds JobRuntime's spans to an OpenTelemetry tracer provider.</summary>
    public static class JobRuntimeTracerProviderBuilderExtensions
    {
        /// <summary>
        /// Records the activity source "JobRuntime": a producer span per submit (a child of the
        /// caller's span) and a consumer span per attempt, linked to its submit's, with the job's id,
        /// type, queue, attempt and final status.
        /// </summary>
        /// <param name="builder">The tracer provider builder.</param>
        /// <returns>The builder.</returns>
        public static TracerProviderBuilder AddJobRuntimeInstrumentation(this TracerProviderBuilder builder)
        {
            ArgumentNullException.ThrowIfNull(builder);
            return builder.AddSource(JobRuntimeTelemetry.Name);
        }
    }
}
