namespace JobRuntime;

/// <summary>A recurring job registered in code (<c>AddRecurring</c>): stored, or updated, when the runtime starts.</summary>
internal sealed record RecurringJobRegistration(string Name, Func<IRecurringJobs, CancellationToken, ValueTask> Apply);
