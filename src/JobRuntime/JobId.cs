using System.Diagnostics.CodeAnalysis;

namespace JobRuntime;

/// <summary>
/// Identifies a job. Ids are UUID version 7 values, so they sort by creation time both as
/// values and in their string form.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(JobIdJsonConverter))]
public readonly record struct JobId : IComparable<JobId>, ISpanFormattable, ISpanParsable<JobId>
{
    /// <summary>Wraps an existing <see cref="Guid"/>.</summary>
    /// <param name="value">The underlying value.</param>
    public JobId(Guid value) => Value = value;

    /// <summary>The underlying UUID.</summary>
    public Guid Value { get; }

    /// <summary>
    /// Creates a new id whose timestamp is <paramref name="timestamp"/>. Ids made in this process
    /// increase strictly: within one millisecond a 12-bit counter orders them (RFC 9562, method 1),
    /// so ids sort in creation order even when many are made at once.
    /// </summary>
    /// <param name="timestamp">The creation time embedded in the id.</param>
    /// <returns>A new unique id.</returns>
    public static JobId New(DateTimeOffset timestamp) => new(MonotonicUuid.Next(timestamp.ToUnixTimeMilliseconds()));

    /// <summary>Creates a new time-ordered id stamped with the current time.</summary>
    /// <returns>A new unique id.</returns>
    public static JobId New() => New(TimeProvider.System.GetUtcNow());

    /// <inheritdoc />
    public int CompareTo(JobId other) => Value.CompareTo(other.Value);

    /// <summary>Compares two ids by creation order.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> sorts first.</returns>
    public static bool operator <(JobId left, JobId right) => left.CompareTo(right) < 0;

    /// <summary>Compares two ids by creation order.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> sorts last.</returns>
    public static bool operator >(JobId left, JobId right) => left.CompareTo(right) > 0;

    /// <summary>Compares two ids by creation order.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> sorts first or equal.</returns>
    public static bool operator <=(JobId left, JobId right) => left.CompareTo(right) <= 0;

    /// <summary>Compares two ids by creation order.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> sorts last or equal.</returns>
    public static bool operator >=(JobId left, JobId right) => left.CompareTo(right) >= 0;

    /// <summary>The id as 32 lower-case hex digits without dashes.</summary>
    /// <returns>The formatted id.</returns>
    public override string ToString() => Value.ToString("N");

    /// <inheritdoc />
    public string ToString(string? format, IFormatProvider? formatProvider) => Value.ToString(format ?? "N", formatProvider);

    /// <inheritdoc />
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => Value.TryFormat(destination, out charsWritten, format.IsEmpty ? "N" : format);

    /// <summary>Parses an id written with or without dashes.</summary>
    /// <param name="s">The text.</param>
    /// <returns>The id.</returns>
    /// <exception cref="FormatException">The text is not a UUID.</exception>
    public static JobId Parse(string s) => Parse(s, null);

    /// <summary>Parses an id written with or without dashes.</summary>
    /// <param name="s">The text.</param>
    /// <param name="provider">Ignored.</param>
    /// <returns>The id.</returns>
    /// <exception cref="FormatException">The text is not a UUID.</exception>
    public static JobId Parse(string s, IFormatProvider? provider)
    {
        ArgumentNullException.ThrowIfNull(s);
        return Parse(s.AsSpan(), provider);
    }

    /// <inheritdoc />
    public static JobId Parse(ReadOnlySpan<char> s, IFormatProvider? provider)
        => TryParse(s, provider, out var id) ? id : throw new FormatException($"'{s}' is not a job id (expected a UUID).");

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out JobId result)
        => TryParse(s.AsSpan(), provider, out result);

    /// <inheritdoc />
    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out JobId result)
    {
        if (Guid.TryParse(s, out var guid))
        {
            result = new JobId(guid);
            return true;
        }

        result = default;
        return false;
    }
}
