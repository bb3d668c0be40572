using JobRuntime.Storage;

namespace JobRuntime.Tests.Storage;

public sealed class JobStoreTextTests
{
    private const char High = '\uD83D';
    private const char Low = '\uDE00';

    // Built in code and checked in one test: an attribute's string is stored as UTF-8 and a theory's data is
    // serialised to the runner, either of which would turn a lone surrogate into U+FFFD.
    private static readonly (string? Text, bool WellFormed)[] Texts =
    [
        (null, true),
        ("", true),
        ("plain ascii", true),
        ("accents é, 中文, \uE000 and \uFFFF", true),
        ($"a pair {High}{Low} and more {High}{Low}", true),
        ($"{High}{Low}", true),
        ("a\0b", false),
        ("\0", false),
        ($"{High}{Low} then \0", false),
        ("\uE000\0", false),
        ($"lone high {High}", false),
        ($"lone high {High}x", false),
        ($"{Low} lone low", false),
        ($"{High}{Low}{Low}", false),
        ($"two highs {High}{High}{Low}", false),
    ];

    /// <summary>
    /// Well formed: no NUL and no unpaired surrogate, wherever they sit — before, after or between characters
    /// outside the common range (U+0001–U+D7FF) the check scans for first.
    /// </summary>
    [Fact]
    public void IsWellFormed_RefusesNulAndUnpairedSurrogatesAnywhere()
    {
        Assert.All(Texts, t => Assert.True(JobStoreText.IsWellFormed(t.Text) == t.WellFormed, $"{Escaped(t.Text)} should {(t.WellFormed ? "" : "not ")}be well formed"));

        static string Escaped(string? text) => text is null ? "null" : string.Concat(text.Select(c => c is < ' ' or >= '\uD800' ? $"\\u{(int)c:X4}" : c.ToString()));
    }
}
