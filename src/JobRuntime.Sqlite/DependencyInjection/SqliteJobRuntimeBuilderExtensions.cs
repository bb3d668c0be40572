using JobRuntime;
using JobRuntime.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite store.</summary>
public static class SqliteJobRuntimeBuilderExtensions
{
    /// <summary>Keeps jobs in a SQLite file, created with its schema on first use.</summary>
    /// <param name="builder">The runtime builder.</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, such as <c>Data Source=jobs.db</c>.</param>
    /// <returns>The builder.</returns>
    public static JobRuntimeBuilder UseSqlite(this JobRuntimeBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseSqlite(options => options.ConnectionString = connectionString);
    }

    /// <summary>
    /// Keeps jobs in a SQLite file, created with its schema on first use. The options are validated
    /// when the host starts (or when the store is first used), every error at once.
    /// </summary>
    /// <param name="builder">The runtime builder.</param>
    /// <param name="configure">Sets the store's options; calls add up with <c>Configure&lt;SqliteJobStoreOptions&gt;</c> and configuration binding.</param>
    /// <returns>The builder.</returns>
    public static JobRuntimeBuilder UseSqlite(this JobRuntimeBuilder builder, Action<SqliteJobStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SqliteJobStoreOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteJobStoreOptions>, SqliteJobStoreOptionsValidator>());
        return builder.UseStore(sp => new SqliteJobStore(
            sp.GetRequiredService<IOptions<SqliteJobStoreOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger("JobRuntime.Sqlite")));
    }
}
