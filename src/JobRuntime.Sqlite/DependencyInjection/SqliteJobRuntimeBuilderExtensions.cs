using JobRuntime;
using JobRuntime.Sqlite;
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

    /// <summary>Keeps jobs in a SQLite file, created with its schema on first use.</summary>
    /// <param name="builder">The runtime builder.</param>
    /// <param name="configure">Sets the store's options.</param>
    /// <returns>The builder.</returns>
    public static JobRuntimeBuilder UseSqlite(this JobRuntimeBuilder builder, Action<SqliteJobStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SqliteJobStoreOptions>().Configure(configure);
        return builder.UseStore(sp => new SqliteJobStore(sp.GetRequiredService<IOptions<SqliteJobStoreOptions>>().Value, sp.GetService<TimeProvider>()));
    }
}
