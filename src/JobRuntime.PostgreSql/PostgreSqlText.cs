using System.Text;
using JobRuntime.Storage;

namespace JobRuntime.PostgreSql;

/// <summary>
/// What PostgreSQL's text can hold: no NUL character (SQLSTATE 22021) and only well-formed UTF-16
/// (a lone surrogate cannot be encoded as UTF-8; Npgsql throws an <see cref="EncoderFallbackException"/>).
/// </summary>
internal static class PostgreSqlText
{
    /// <summary>
    /// Free text (messages, stages, errors, results) made storable: NUL characters removed, a lone
    /// surrogate replaced by U+FFFD. Text that needs neither is returned as it is, without copying.
    /// </summary>
    public static string? Clean(string? text)
    {
        if (text is null || JobStoreText.IsWellFormed(text))
        {
            return text;
        }

        var clean = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                clean.Append(c).Append(text[i + 1]);
                i++;
            }
            else
            {
                clean.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return clean.ToString();
    }

    /// <summary>Cleans each element in place.</summary>
    public static void CleanAll(string?[] texts)
    {
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = Clean(texts[i]);
        }
    }
}
