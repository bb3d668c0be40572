namespace JobRuntime.Tests;

public sealed class JobIdTests
{
    [Fact]
    public void New_ManyInOneMillisecond_IncreaseStrictly()
    {
        var at = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 10_000).Select(_ => JobId.New(at)).ToList();

        for (var i = 1; i < ids.Count; i++)
        {
            Assert.True(ids[i - 1] < ids[i], $"id {i} does not sort after id {i - 1}");
            Assert.True(string.CompareOrdinal(ids[i - 1].ToString(), ids[i].ToString()) < 0);
        }
    }

    [Fact]
    public void New_IsUuidVersion7WithTheTimestamp()
    {
        var at = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var text = JobId.New(at).ToString();

        Assert.Equal('7', text[12]);
        Assert.Contains(text[16], "89ab");
        Assert.Equal(at.ToUnixTimeMilliseconds(), Convert.ToInt64(text[..12], 16));
    }

    [Fact]
    public void Parse_RoundTripsWithAndWithoutDashes()
    {
        var id = JobId.New();

        Assert.Equal(id, JobId.Parse(id.ToString()));
        Assert.Equal(id, JobId.Parse(id.Value.ToString("D")));
        Assert.True(JobId.TryParse(id.ToString(), null, out var parsed));
        Assert.Equal(id, parsed);
    }

    [Fact]
    public void Parse_NotAUuid_ThrowsFormatException()
    {
        var ex = Assert.Throws<FormatException>(() => JobId.Parse("job-1"));
        Assert.Contains("job-1", ex.Message, StringComparison.Ordinal);
        Assert.False(JobId.TryParse("job-1", null, out _));
    }
}
