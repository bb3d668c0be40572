namespace JobRuntime;

/// <summary>One attempt's failure, as the job's history keeps it (<see cref="JobSnapshot.AttemptErrors"/>).</summary>
/// <param name="Attempt">The attempt's number, from 1.</param>
/// <param name="At">When its outcome was written.</param>
/// <param name="Type">The error's type (an exception's full name, or the runtime's kind: "Timeout", "LeaseExpired", …).</param>
/// <param name="Message">The error's message.</param>
public sealed record JobAttemptError(int Attempt, DateTimeOffset At, string Type, string Message);
