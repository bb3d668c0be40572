using JobRuntime;
using JobRuntime.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL store.</summary>
public static class PostgreSqlJobRuntimeBuilderExtensions
{
    /// <summary>Keeps jobs in PostgreSQL, in the schema "jobruntime" (created and migrated on first use).</summary>
    /// <param name="builder">The runtime builder.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <returns>The builder.</returns>
    public static JobRuntimeBuilder UsePostgreSql(this JobRuntimeBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgreSql(options => options.ConnectionString = connectionString);
    }

    /// <summary>
    /// Keeps jobs in PostgreSQL. Uses the <see cref="NpgsqlDataSource"/> registered in DI when there
    /// is one, otherwise <see cref="PostgreSqlJobStoreOptions.ConnectionString"/>.
    /// </summary>
    /// <param name="builder">The runtime builder.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    public static JobRuntimeBuilder UsePostgreSql(this JobRuntimeBuilder builder, Action<PostgreSqlJobStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<PostgreSqlJobStoreOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlJobStoreOptions>, PostgreSqlJobStoreOptionsValidator>());
        return builder.UseStore(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PostgreSqlJobStoreOptions>>().Value;
            var time = sp.GetService<TimeProvider>();
            var logger = sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger("JobRuntime.PostgreSql");
            return sp.GetService<NpgsqlDataSource>() is { } dataSource
                ? new PostgreSqlJobStore(dataSource, options, time, logger)
                : new PostgreSqlJobStore(options, time, logger);
        });
    }
}
