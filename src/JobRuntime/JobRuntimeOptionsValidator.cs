using Microsoft.Extensions.Options;

namespace JobRuntime;

/// <summary>Validates <see cref="JobRuntimeOptions"/>, reporting every error at once.</summary>
internal sealed class JobRuntimeOptionsValidator : IValidateOptions<JobRuntimeOptions>
{
    public ValidateOptionsResult Validate(string? name, JobRuntimeOptions options)
    {
        var errors = new List<string>();
        if (options.MaxConcurrency < 1)
        {
            errors.Add($"{nameof(options.MaxConcurrency)} must be at least 1 (was {options.MaxConcurrency}).");
        }

        foreach (var (queue, limit) in options.QueueConcurrency)
        {
            if (limit < 1)
            {
                errors.Add($"{nameof(options.QueueConcurrency)}[\"{queue}\"] must be at least 1 (was {limit}).");
            }
        }

        if (string.IsNullOrWhiteSpace(options.DefaultQueue))
        {
            errors.Add($"{nameof(options.DefaultQueue)} must not be empty.");
        }

        if (options.DefaultMaxAttempts < 1)
        {
            errors.Add($"{nameof(options.DefaultMaxAttempts)} must be at least 1 (was {options.DefaultMaxAttempts}).");
        }

        Positive(errors, nameof(options.RetryBaseDelay), options.RetryBaseDelay, allowZero: true);
        Positive(errors, nameof(options.RetryMaxDelay), options.RetryMaxDelay, allowZero: true);
        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            errors.Add($"{nameof(options.RetryMaxDelay)} ({options.RetryMaxDelay}) must not be shorter than {nameof(options.RetryBaseDelay)} ({options.RetryBaseDelay}).");
        }

        if (options.RetryJitter is < 0 or > 1 || double.IsNaN(options.RetryJitter))
        {
            errors.Add($"{nameof(options.RetryJitter)} must be between 0 and 1 (was {options.RetryJitter}).");
        }

        if (options.DefaultTimeout is { } timeout)
        {
            Positive(errors, nameof(options.DefaultTimeout), timeout, allowZero: false);
            if (timeout > JobSubmitOptions.MaxTimeout)
            {
                errors.Add($"{nameof(options.DefaultTimeout)} must be at most {JobSubmitOptions.MaxTimeout.TotalDays:0} days (was {timeout}); leave it unset for no timeout.");
            }
        }

        Positive(errors, nameof(options.CancellationGracePeriod), options.CancellationGracePeriod, allowZero: true);
        Positive(errors, nameof(options.ShutdownTimeout), options.ShutdownTimeout, allowZero: true);
        Positive(errors, nameof(options.PollInterval), options.PollInterval, allowZero: false);
        Positive(errors, nameof(options.BatchRefreshInterval), options.BatchRefreshInterval, allowZero: false);
        Positive(errors, nameof(options.LeaseDuration), options.LeaseDuration, allowZero: false);
        Positive(errors, nameof(options.RecoveryInterval), options.RecoveryInterval, allowZero: false);
        if (options.RetainFinishedJobs is { } retain)
        {
            Positive(errors, nameof(options.RetainFinishedJobs), retain, allowZero: true);
        }
        Positive(errors, nameof(options.ProgressPersistInterval), options.ProgressPersistInterval, allowZero: false);
        if (options.ProgressPersistPercentStep is <= 0 or > 100 || double.IsNaN(options.ProgressPersistPercentStep))
        {
            errors.Add($"{nameof(options.ProgressPersistPercentStep)} must be above 0 and at most 100 (was {options.ProgressPersistPercentStep}).");
        }

        if (options.StallTimeout is { } stall)
        {
            Positive(errors, nameof(options.StallTimeout), stall, allowZero: false);
        }

        Positive(errors, nameof(options.ThreadDumpMinimumInterval), options.ThreadDumpMinimumInterval, allowZero: true);
        if (options.SubscriberBufferCapacity < 1)
        {
            errors.Add($"{nameof(options.SubscriberBufferCapacity)} must be at least 1 (was {options.SubscriberBufferCapacity}).");
        }

        if (string.IsNullOrWhiteSpace(options.WorkerName))
        {
            errors.Add($"{nameof(options.WorkerName)} must not be empty.");
        }

        if (options.SerializerOptions is null)
        {
            errors.Add($"{nameof(options.SerializerOptions)} must not be null.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string name, TimeSpan value, bool allowZero)
    {
        if (value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero))
        {
            errors.Add($"{name} must be {(allowZero ? "zero or positive" : "positive")} (was {value}).");
        }
    }
}
