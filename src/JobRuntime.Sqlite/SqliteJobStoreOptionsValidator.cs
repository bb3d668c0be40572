using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace JobRuntime.Sqlite;

/// <summary>Validates <see cref="SqliteJobStoreOptions"/>, reporting every error at once.</summary>
internal sealed class SqliteJobStoreOptionsValidator : IValidateOptions<SqliteJobStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteJobStoreOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            problems.Add($"{nameof(options.ConnectionString)} must not be empty (for example \"Data Source=jobs.db\").");
        }
        else
        {
            try
            {
                if (string.IsNullOrWhiteSpace(new SqliteConnectionStringBuilder(options.ConnectionString).DataSource))
                {
                    problems.Add($"{nameof(options.ConnectionString)} must name a database file with Data Source (was \"{options.ConnectionString}\").");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
            {
                problems.Add($"{nameof(options.ConnectionString)} is not a valid SQLite connection string: {ex.Message}");
            }
        }

        if (!Enum.IsDefined(options.Synchronous))
        {
            problems.Add($"{nameof(options.Synchronous)} must be Normal or Full (was {(int)options.Synchronous}).");
        }

        if (options.BusyTimeout < TimeSpan.Zero)
        {
            problems.Add($"{nameof(options.BusyTimeout)} must not be negative (was {options.BusyTimeout}).");
        }

        if (options.MaxBatchSize < 1)
        {
            problems.Add($"{nameof(options.MaxBatchSize)} must be at least 1 (was {options.MaxBatchSize}).");
        }

        if (options.SignalPollInterval < TimeSpan.Zero)
        {
            problems.Add($"{nameof(options.SignalPollInterval)} must not be negative; zero turns the check off (was {options.SignalPollInterval}).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
