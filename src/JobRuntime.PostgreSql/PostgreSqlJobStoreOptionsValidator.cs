using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobRuntime.PostgreSql;

/// <summary>Validates <see cref="PostgreSqlJobStoreOptions"/>, reporting every error at once.</summary>
internal sealed class PostgreSqlJobStoreOptionsValidator(IServiceProvider services) : IValidateOptions<PostgreSqlJobStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgreSqlJobStoreOptions options)
    {
        var problems = options.Problems(hasDataSource: services.GetService<NpgsqlDataSource>() is not null);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
