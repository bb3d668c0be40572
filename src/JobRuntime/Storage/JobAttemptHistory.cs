using System.Text.Json;

namespace JobRuntime.Storage;

/// <summary>
/// For stores: a job's history of failed attempts (<see cref="JobSnapshot.AttemptErrors"/>). Every
/// outcome or recovery that writes an error for an attempt adds an entry; the oldest go beyond
/// <see cref="MaxKept"/>. Stored as JSON, an array of
/// <c>{"attempt": n, "at": UTC ticks, "type": "…", "message": "…"}</c> (what SQL's JSON functions write).
/// </summary>
public static class JobAttemptHistory
{
    /// <summary>How many attempts' errors a job keeps: the most recent.</summary>
    public const int MaxKept = 50;

    /// <summary>The history with one more failure, the oldest dropped beyond <see cref="MaxKept"/>.</summary>
    /// <param name="history">The history so far.</param>
    /// <param name="attempt">The failed attempt's number.</param>
    /// <param name="at">When its outcome was written.</param>
    /// <param name="error">Its error.</param>
    /// <returns>The new history.</returns>
    public static IReadOnlyList<JobAttemptError> Append(IReadOnlyList<JobAttemptError> history, int attempt, DateTimeOffset at, JobError error)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(error);
        var entry = new JobAttemptError(attempt, at, error.Type, error.Message);
        return history.Count < MaxKept ? [.. history, entry] : [.. history.Skip(history.Count - MaxKept + 1), entry];
    }

    /// <summary>Reads a stored history.</summary>
    /// <param name="json">The stored JSON, or <see langword="null"/> for none.</param>
    /// <returns>The entries, oldest first.</returns>
    /// <exception cref="JsonException">The text is not a stored history.</exception>
    public static IReadOnlyList<JobAttemptError> Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return [];
        }

        using var document = JsonDocument.Parse(json);
        var entries = new List<JobAttemptError>(document.RootElement.GetArrayLength());
        foreach (var e in document.RootElement.EnumerateArray())
        {
            entries.Add(new JobAttemptError(
                e.GetProperty("attempt").GetInt32(),
                new DateTimeOffset(e.GetProperty("at").GetInt64(), TimeSpan.Zero),
                e.GetProperty("type").GetString() ?? "",
                e.GetProperty("message").GetString() ?? ""));
        }

        return entries;
    }
}
