using Microsoft.Extensions.Options;

namespace JobRuntime.Diagnostics;

/// <summary>Validates <see cref="ThreadDumpDiagnosticsOptions"/>, reporting every error at once.</summary>
internal sealed class ThreadDumpDiagnosticsOptionsValidator : IValidateOptions<ThreadDumpDiagnosticsOptions>
{
    public ValidateOptionsResult Validate(string? name, ThreadDumpDiagnosticsOptions options)
    {
        var problems = new List<string>();
        if (options.SampleDuration <= TimeSpan.Zero || options.SampleDuration > TimeSpan.FromSeconds(10))
        {
            problems.Add($"{nameof(options.SampleDuration)} must be above zero and at most 10 seconds (was {options.SampleDuration}).");
        }

        if (options.TempDirectory is { } folder && !Directory.Exists(folder))
        {
            problems.Add($"{nameof(options.TempDirectory)} must be an existing folder (was \"{folder}\").");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
