using System.Globalization;
using JobRuntime.Storage;
using Xunit;

namespace JobRuntime.TestSupport;

/// <summary>Reads what recurring jobs made, and checks it: one job per occurrence, none missing.</summary>
public static class RecurringRuns
{
    /// <summary>Every job a recurring job made (tagged <c>schedule:…</c>), read page by page.</summary>
    public static async Task<List<JobSnapshot>> ReadAsync(IJobStore store)
    {
        var jobs = new List<JobSnapshot>();
        JobId? after = null;
        do
        {
            var page = await store.ListAsync(new JobQuery { After = after, PageSize = JobQuery.MaxPageSize });
            jobs.AddRange(page.Items.Where(j => j.Tags.Any(t => t.StartsWith("schedule:", StringComparison.Ordinal))));
            after = page.NextCursor;
        }
        while (after is not null);

        return jobs;
    }

    /// <summary>
    /// For each of <paramref name="schedules"/> every-<paramref name="every"/> schedules: no occurrence has two
    /// jobs, and every occurrence from the first to the last has one.
    /// </summary>
    /// <returns>How many occurrences were checked.</returns>
    public static int AssertOneJobPerOccurrence(IReadOnlyCollection<JobSnapshot> jobs, int schedules, TimeSpan every)
    {
        var checkedOccurrences = 0;
        for (var i = 0; i < schedules; i++)
        {
            var tag = $"schedule:tick-{i}";
            var fires = jobs.Where(j => j.Tags.Contains(tag))
                .Select(j => DateTimeOffset.ParseExact(j.Tags.Single(t => t.StartsWith("fire:", StringComparison.Ordinal))[5..], "yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal))
                .Order()
                .ToList();
            Assert.NotEmpty(fires);
            var doubled = fires.GroupBy(f => f).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(doubled.Count == 0, $"{tag}: occurrences with more than one job: {string.Join(", ", doubled.Select(d => d.ToString("O", CultureInfo.InvariantCulture)))}");
            var missing = new List<DateTimeOffset>();
            for (var at = fires[0]; at <= fires[^1]; at += every)
            {
                if (fires.BinarySearch(at) < 0)
                {
                    missing.Add(at);
                }
            }

            Assert.True(missing.Count == 0, $"{tag}: occurrences without a job: {string.Join(", ", missing.Select(m => m.ToString("O", CultureInfo.InvariantCulture)))}");
            checkedOccurrences += fires.Count;
        }

        return checkedOccurrences;
    }
}
