namespace JobRuntime.Storage;

/// <summary>
/// The text every store can hold: no NUL character and well-formed UTF-16 (no unpaired surrogate).
/// PostgreSQL refuses a NUL in text and Npgsql cannot encode a lone surrogate; SQLite stores a lone
/// surrogate as something else (a character swallowed). Stores refuse such names and keys at insert
/// with <see cref="ThrowIfNotStorable"/>, so no store holds what another could not.
/// </summary>
public static class JobStoreText
{
    /// <summary>Whether <paramref name="text"/> has no NUL character and no unpaired surrogate.</summary>
    /// <param name="text">The text; <see langword="null"/> is well formed.</param>
    /// <returns><see langword="true"/> when every store can hold it as it is.</returns>
    public static bool IsWellFormed(string? text)
    {
        if (text is null)
        {
            return true;
        }

        // One vectorised scan for the common text (every character from U+0001 to U+D7FF); the first
        // character outside that range, if any, starts the character-by-character check.
        var span = text.AsSpan();
        var at = span.IndexOfAnyExceptInRange('\u0001', '\uD7FF');
        if (at < 0)
        {
            return true;
        }

        for (var i = at; i < span.Length; i++)
        {
            var c = span[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Refuses what a store must not insert as a new job: one that is not pending with attempt 0, or
    /// whose text is not storable (<see cref="ThrowIfNotStorable"/>). Every store's insert (and an
    /// occurrence's jobs) checks with it, so all word the refusal alike.
    /// </summary>
    /// <param name="job">The job about to be inserted.</param>
    /// <exception cref="ArgumentException">The job is not new, or a field cannot be stored; the message says which.</exception>
    public static void ThrowIfNotNew(JobSnapshot job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Status != JobStatus.Pending || job.Attempt != 0)
        {
            throw new ArgumentException($"A new job must be pending with attempt 0 (job {job.Id} is {job.Status}, attempt {job.Attempt}).", nameof(job));
        }

        ThrowIfNotStorable(job);
    }

    /// <summary>Refuses a call of <see cref="IJobStore.InsertManyAsync"/> without jobs, or with a job that is not new (each as <see cref="ThrowIfNotNew"/>).</summary>
    /// <param name="jobs">The jobs about to be stored.</param>
    /// <exception cref="ArgumentException">There are none, or one is not new or not storable; the message names it.</exception>
    public static void ThrowIfNotNewBatch(IReadOnlyList<JobSnapshot> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0)
        {
            throw new ArgumentException("At least one job must be given.", nameof(jobs));
        }

        foreach (var job in jobs)
        {
            ThrowIfNotNew(job);
        }
    }

    /// <summary>Refuses a new job whose type, queue, title, idempotency key, tags or payload is not <see cref="IsWellFormed">well formed</see>.</summary>
    /// <param name="job">The job about to be stored.</param>
    /// <exception cref="ArgumentException">A field holds a NUL character or an unpaired surrogate; the message names it.</exception>
    public static void ThrowIfNotStorable(JobSnapshot job)
    {
        ArgumentNullException.ThrowIfNull(job);
        Check(job.Type, nameof(job.Type));
        Check(job.Queue, nameof(job.Queue));
        Check(job.Title, nameof(job.Title));
        Check(job.IdempotencyKey, nameof(job.IdempotencyKey));
        Check(job.Payload, nameof(job.Payload));
        foreach (var tag in job.Tags)
        {
            Check(tag, nameof(job.Tags));
        }

        static void Check(string? text, string field)
        {
            if (!IsWellFormed(text))
            {
                throw new ArgumentException($"The job's {field} holds a NUL character or an unpaired surrogate (invalid UTF-16), which no store can hold; nothing was stored.", nameof(job));
            }
        }
    }
}
