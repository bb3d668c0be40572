using JobRuntime.Engine;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace JobRuntime.Tests.Recurring;

/// <summary>Recurring jobs on a fake clock: the scheduler is driven pass by pass (<see cref="Scheduler.FireDueAsync"/>), as its loop would.</summary>
public sealed class RecurringJobTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(1);

    private sealed class Harness : IAsyncDisposable
    {
        public Harness(DateTimeOffset start, Action<JobRuntimeBuilder>? builder = null)
        {
            Time = new FakeTimeProvider(start);
            Runtime = TestRuntime.Create(
                o =>
                {
                    o.LeaseDuration = TimeSpan.FromDays(30);
                    o.RecoveryInterval = TimeSpan.FromDays(30);
                    o.PollInterval = TimeSpan.FromDays(30);
                },
                Time,
                builder);
        }

        public FakeTimeProvider Time { get; }

        public TestRuntime Runtime { get; }

        public IRecurringJobs Recurring => Runtime.Services.GetRequiredService<IRecurringJobs>();

        public Scheduler Scheduler => Runtime.Services.GetRequiredService<JobEngine>().Scheduler!;

        /// <summary>Moves the clock in steps up to <paramref name="until"/>, firing what is due after each.</summary>
        public async Task RunUntilAsync(DateTimeOffset until, TimeSpan step)
        {
            while (Time.GetUtcNow() < until)
            {
                var next = Time.GetUtcNow() + step;
                Time.Advance((next > until ? until : next) - Time.GetUtcNow());
                await Scheduler.FireDueAsync(CancellationToken.None);
            }
        }

        /// <summary>The jobs of a schedule, by the occurrence they were made for (UTC).</summary>
        public async Task<List<JobSnapshot>> JobsOfAsync(string name)
        {
            var jobs = new List<JobSnapshot>();
            JobId? after = null;
            do
            {
                var page = await Runtime.Manager.ListAsync(new JobQuery { Tag = $"schedule:{name}", After = after, PageSize = 1000 });
                jobs.AddRange(page.Items);
                after = page.NextCursor;
            }
            while (after is not null);

            return [.. jobs.OrderBy(j => j.ScheduledAt)];
        }

        public ValueTask DisposeAsync() => Runtime.DisposeAsync();
    }

    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task EveryMinute_OverASimulatedDay_MakesOneJobPerOccurrence()
    {
        await using var h = new Harness(Utc("2026-03-01T00:00:30Z"));
        await h.Recurring.AddOrUpdateAsync("minutely", "* * * * *", new EchoArgs(1));

        await h.RunUntilAsync(Utc("2026-03-02T00:00:30Z"), TimeSpan.FromSeconds(20));

        var jobs = await h.JobsOfAsync("minutely");
        Assert.Equal(1440, jobs.Count);
        Assert.Equal(Utc("2026-03-01T00:01:00Z"), jobs[0].ScheduledAt);
        Assert.All(jobs.Zip(jobs.Skip(1)), pair => Assert.Equal(TimeSpan.FromMinutes(1), pair.Second.ScheduledAt - pair.First.ScheduledAt));
        var info = await h.Recurring.GetAsync("minutely");
        Assert.Equal(Utc("2026-03-02T00:00:00Z"), info!.LastFireAt);
        Assert.Equal(Utc("2026-03-02T00:01:00Z"), info.NextFireAt);
        Assert.Equal(jobs[^1].Id, info.LastJobId);
    }

    [Theory]
    [InlineData("Europe/Berlin", "30 2 * * *", "2026-03-27T22:00:00Z", "2026-03-30T22:00:00Z", "2026-03-28T01:30:00Z,2026-03-29T01:00:00Z,2026-03-30T00:30:00Z")]
    [InlineData("Europe/Berlin", "30 2 * * *", "2026-10-23T22:00:00Z", "2026-10-26T23:00:00Z", "2026-10-24T00:30:00Z,2026-10-25T00:30:00Z,2026-10-26T01:30:00Z")]
    [InlineData("America/New_York", "30 2 * * *", "2026-03-07T05:00:00Z", "2026-03-10T04:00:00Z", "2026-03-07T07:30:00Z,2026-03-08T07:00:00Z,2026-03-09T06:30:00Z")]
    [InlineData("America/New_York", "30 1 * * *", "2026-10-31T04:00:00Z", "2026-11-03T05:00:00Z", "2026-10-31T05:30:00Z,2026-11-01T05:30:00Z,2026-11-02T06:30:00Z")]
    public async Task DaylightSavingChanges_NoOccurrenceDoubledOrLost(string zone, string cron, string from, string until, string expected)
    {
        await using var h = new Harness(Utc(from));
        await h.Recurring.AddOrUpdateAsync("daily", cron, new EchoArgs(1), o => o.TimeZone = TimeZoneInfo.FindSystemTimeZoneById(zone));

        await h.RunUntilAsync(Utc(until), TimeSpan.FromMinutes(10));

        var fired = (await h.JobsOfAsync("daily")).Select(j => j.ScheduledAt.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(expected.Split(','), fired);
    }

    [Fact]
    public async Task IntervalScheduleAcrossTheFallBack_RunsInBothOfTheRepeatedHours()
    {
        // Berlin, 2026-10-25: 02:00–03:00 happens twice (CEST, then CET). "Every 30 minutes" runs in both.
        await using var h = new Harness(Utc("2026-10-24T23:50:00Z"));
        await h.Recurring.AddOrUpdateAsync("half-hourly", "*/30 * * * *", new EchoArgs(1), o => o.TimeZone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));

        await h.RunUntilAsync(Utc("2026-10-25T02:10:00Z"), TimeSpan.FromMinutes(5));

        var fired = (await h.JobsOfAsync("half-hourly")).Select(j => j.ScheduledAt.UtcDateTime.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(["00:00", "00:30", "01:00", "01:30", "02:00"], fired);
    }

    [Theory]
    [InlineData(MisfirePolicy.Skip, new int[0])]
    [InlineData(MisfirePolicy.RunOnce, new[] { 5 })]
    [InlineData(MisfirePolicy.RunEach, new[] { 3, 4, 5 })]
    public async Task AfterAnOutage_TheMisfirePolicyDecidesWhatRuns(MisfirePolicy policy, int[] hours)
    {
        await using var h = new Harness(Utc("2026-05-01T00:30:00Z"));
        await h.Recurring.AddOrUpdateAsync("hourly", "0 * * * *", new EchoArgs(1), o =>
        {
            o.Misfire = policy;
            o.MaxMissedRuns = 3;
        });

        // Nothing fires from 01:00 to 05:00 (every node down); the first pass comes at 05:20.
        h.Time.Advance(TimeSpan.FromMinutes(290));
        await h.Scheduler.FireDueAsync(CancellationToken.None);

        var jobs = await h.JobsOfAsync("hourly");
        Assert.Equal(hours, jobs.Select(j => j.ScheduledAt.Hour));
        Assert.Equal(Utc("2026-05-01T06:00:00Z"), (await h.Recurring.GetAsync("hourly"))!.NextFireAt);
    }

    [Theory]
    [InlineData(OverlapPolicy.Allow)]
    [InlineData(OverlapPolicy.Skip)]
    [InlineData(OverlapPolicy.Queue)]
    public async Task PreviousRunStillGoing_TheOverlapPolicyDecides(OverlapPolicy policy)
    {
        await using var h = new Harness(Utc("2026-05-01T00:00:30Z"));
        await h.Recurring.AddOrUpdateAsync("slow", "* * * * *", new GateArgs("slow"), o => o.Overlap = policy);
        h.Time.Advance(TimeSpan.FromSeconds(40));
        await h.Scheduler.FireDueAsync(CancellationToken.None);
        var first = Assert.Single(await h.JobsOfAsync("slow"));
        await h.Runtime.Gates.For("slow").Started.Task.WaitAsync(Guard);

        h.Time.Advance(TimeSpan.FromMinutes(1));
        await h.Scheduler.FireDueAsync(CancellationToken.None);

        var jobs = await h.JobsOfAsync("slow");
        switch (policy)
        {
            case OverlapPolicy.Allow:
                Assert.Equal(2, jobs.Count);
                Assert.Empty(jobs[1].DependsOn);
                break;
            case OverlapPolicy.Skip:
                Assert.Single(jobs);
                Assert.Equal(Utc("2026-05-01T00:03:00Z"), (await h.Recurring.GetAsync("slow"))!.NextFireAt);
                break;
            default:
                Assert.Equal(2, jobs.Count);
                Assert.Equal([first.Id], jobs[1].DependsOn);
                Assert.Equal(JobWaitReason.Dependencies, (await h.Runtime.Manager.GetAsync(jobs[1].Id))!.WaitReason);
                break;
        }

        h.Runtime.Gates.For("slow").Open.TrySetResult();
        foreach (var job in jobs)
        {
            Assert.Equal(JobStatus.Completed, (await h.Runtime.Manager.WaitForCompletionAsync(job.Id).WaitAsync(Guard)).Status);
        }
    }

    [Fact]
    public async Task PauseResumeAndTrigger()
    {
        await using var h = new Harness(Utc("2026-05-01T00:00:30Z"));
        await h.Recurring.AddOrUpdateAsync("paused", "*/10 * * * *", new EchoArgs(1));
        Assert.True(await h.Recurring.PauseAsync("paused"));

        await h.RunUntilAsync(Utc("2026-05-01T01:05:00Z"), TimeSpan.FromMinutes(1));
        Assert.Empty(await h.JobsOfAsync("paused"));
        Assert.True((await h.Recurring.GetAsync("paused"))!.Paused);

        // Triggered while paused: one job now; the schedule stays as it was.
        var triggered = await h.Recurring.TriggerAsync("paused");
        var info = await h.Recurring.GetAsync("paused");
        Assert.Equal(triggered, info!.LastJobId);
        Assert.Null(info.LastFireAt);
        Assert.Equal(JobStatus.Completed, (await h.Runtime.Manager.WaitForCompletionAsync(triggered).WaitAsync(Guard)).Status);

        // Resumed: from the next occurrence after now; the ones missed while paused are not made up.
        Assert.True(await h.Recurring.ResumeAsync("paused"));
        Assert.Equal(Utc("2026-05-01T01:10:00Z"), (await h.Recurring.GetAsync("paused"))!.NextFireAt);
        await h.RunUntilAsync(Utc("2026-05-01T01:25:00Z"), TimeSpan.FromMinutes(1));
        Assert.Equal([Utc("2026-05-01T01:10:00Z"), Utc("2026-05-01T01:20:00Z")], (await h.JobsOfAsync("paused")).Where(j => j.Id != triggered).Select(j => j.ScheduledAt));
        Assert.False(await h.Recurring.PauseAsync("nope"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => h.Recurring.TriggerAsync("nope").AsTask());
    }

    [Fact]
    public async Task UpdatingTheExpression_KeepsTheLastRun_AndMovesTheNextOne()
    {
        await using var h = new Harness(Utc("2026-05-01T00:00:30Z"));
        await h.Recurring.AddOrUpdateAsync("report", "*/15 * * * *", new EchoArgs(1));
        await h.RunUntilAsync(Utc("2026-05-01T00:20:00Z"), TimeSpan.FromMinutes(1));
        var before = (await h.Recurring.GetAsync("report"))!;

        var after = await h.Recurring.AddOrUpdateAsync("report", "0 6 * * *", new EchoArgs(2));

        Assert.Equal("0 6 * * *", after.Cron);
        Assert.Equal(before.LastFireAt, after.LastFireAt);
        Assert.Equal(before.LastJobId, after.LastJobId);
        Assert.Equal(Utc("2026-05-01T06:00:00Z"), after.NextFireAt);
        Assert.Single(await h.Recurring.ListAsync());
        Assert.True(await h.Recurring.RemoveAsync("report"));
        Assert.Empty(await h.Recurring.ListAsync());
        Assert.Single(await h.JobsOfAsync("report"));
    }

    [Fact]
    public async Task BadInput_IsRefusedNamingTheSchedule_AndNothingIsStored()
    {
        await using var h = new Harness(Utc("2026-05-01T00:00:00Z"));

        var cron = await Assert.ThrowsAsync<ArgumentException>(() => h.Recurring.AddOrUpdateAsync("broken", "61 * * * *", new EchoArgs(1)).AsTask());
        Assert.Contains("'broken'", cron.Message, StringComparison.Ordinal);
        Assert.Contains("61 * * * *", cron.Message, StringComparison.Ordinal);
        var options = await Assert.ThrowsAsync<ArgumentException>(() => h.Recurring.AddOrUpdateAsync("bad-options", "* * * * *", new EchoArgs(1), o =>
        {
            o.MaxMissedRuns = 0;
            o.MisfireThreshold = TimeSpan.Zero;
        }).AsTask());
        Assert.Contains("MaxMissedRuns", options.Message, StringComparison.Ordinal);
        Assert.Contains("MisfireThreshold", options.Message, StringComparison.Ordinal);
        var zone = await Assert.ThrowsAsync<ArgumentException>(() => h.Recurring.AddOrUpdateAsync("zoned", "0 3 * * *", new EchoArgs(1), o => o.TimeZoneId = "Mars/Olympus_Mons").AsTask());
        Assert.Contains("'zoned'", zone.Message, StringComparison.Ordinal);
        Assert.Contains("Mars/Olympus_Mons", zone.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<UnknownJobTypeException>(() => h.Recurring.AddOrUpdateAsync("unknown", "no-such-type", "* * * * *", 1).AsTask());
        Assert.Empty(await h.Recurring.ListAsync());

        var builder = new ServiceCollection().AddJobRuntime();
        var atRegistration = Assert.Throws<ArgumentException>(() => builder.AddRecurring("nightly", "not cron", new EchoArgs(1)));
        Assert.Contains("'nightly'", atRegistration.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegisteredInCode_IsStoredAtStart_AndTheLoopFiresItOnTime()
    {
        await using var h = new Harness(Utc("2026-05-01T00:00:30Z"), b => b.AddRecurring("every-minute", "* * * * *", new EchoArgs(7)));
        using var events = h.Runtime.Broker.SubscribeAll();

        // Without a host the runtime (and its scheduler) starts on first use; the scheduler stores
        // the registration as it starts.
        Assert.Empty(await h.Recurring.ListAsync());
        h.Runtime.Services.GetRequiredService<JobEngine>().EnsureStarted();

        // The scheduler's start stores them once per process; awaiting it again waits for that same pass.
        await h.Runtime.Services.GetRequiredService<RecurringJobs>().ApplyRegistrationsAsync(CancellationToken.None).WaitAsync(Guard);
        Assert.NotNull(await h.Recurring.GetAsync("every-minute"));

        // The scheduler sleeps until the occurrence (00:01:00); the clock moves past it (and wakes it,
        // in case it armed its timer just after the move).
        h.Runtime.Advance(h.Time, TimeSpan.FromSeconds(45));
        JobEvent submitted;
        do
        {
            Assert.True(await events.Reader.WaitToReadAsync().AsTask().WaitAsync(Guard));
            submitted = await events.Reader.ReadAsync();
        }
        while (submitted.Kind != JobEventKind.Submitted);

        var job = (await h.Runtime.Manager.GetAsync(submitted.JobId))!;
        Assert.Contains("schedule:every-minute", job.Tags);
        Assert.Equal(Utc("2026-05-01T00:01:00Z"), job.ScheduledAt);
    }

    public sealed record NoHandlerArgs(int Value);

    [Fact]
    public async Task RegisteredForArgumentsNoHandlerTakes_FailsTheHostStart_NamingTheType()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddJobRuntime().AddRecurring("orphan", "* * * * *", new NoHandlerArgs(1));
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains(nameof(NoHandlerArgs), error.Message, StringComparison.Ordinal);
        Assert.Empty(await host.Services.GetRequiredService<IRecurringJobs>().ListAsync());
    }

    [Fact]
    public async Task TimeZoneById_IsUsed()
    {
        await using var h = new Harness(Utc("2026-07-01T00:00:00Z"));
        var info = await h.Recurring.AddOrUpdateAsync("ny", "0 9 * * *", new EchoArgs(1), o => o.TimeZoneId = "America/New_York");

        Assert.Equal("America/New_York", info.TimeZone);
        Assert.Equal(Utc("2026-07-01T13:00:00Z"), info.NextFireAt);
    }
}
