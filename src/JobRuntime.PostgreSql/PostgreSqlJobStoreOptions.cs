namespace JobRuntime.PostgreSql;

/// <summary>Options of <see cref="PostgreSqlJobStore"/>.</summary>
public sealed class PostgreSqlJobStoreOptions
{
    /// <summary>The Npgsql connection string, used when no <c>NpgsqlDataSource</c> is given.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The PostgreSQL schema holding JobRuntime's tables. Default "jobruntime".</summary>
    public string Schema { get; set; } = "jobruntime";

    /// <summary>Validates the options.</summary>
    /// <exception cref="ArgumentException">The schema name is not a plain identifier.</exception>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Schema) || Schema.Length > 63
            || !(char.IsAsciiLetterLower(Schema[0]) || Schema[0] == '_')
            || !Schema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            throw new ArgumentException($"The schema name '{Schema}' must be 1–63 lower-case letters, digits or underscores, starting with a letter or underscore.", nameof(Schema));
        }
    }
}
