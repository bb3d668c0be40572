using JobRuntime.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace JobRuntime.Testing;

/// <summary>
/// The contract of <see cref="IJobStoreSchedules"/>, for stores that keep recurring schedules: a
/// store's test class inherits this and returns its store from <see cref="CreateStore"/>. Above all,
/// an occurrence is recorded — and its jobs inserted — once, however many nodes record it at once.
/// </summary>
public abstract class JobStoreScheduleConformanceTests : IAsyncLifetime
{
    private IJobStore? _store;

    /// <summary>The fake clock the store is created with.</summary>
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The store under test.</summary>
    protected IJobStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    /// <summary>The store's schedules.</summary>
    protected IJobStoreSchedules Schedules => Assert.IsAssignableFrom<IJobStoreSchedules>(Store);

    /// <summary>Creates an empty store that reads time from <paramref name="timeProvider"/>.</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>The store.</returns>
    protected abstract Task<IJobStore> CreateStore(TimeProvider timeProvider);

    /// <inheritdoc />
    public async Task InitializeAsync() => _store = await CreateStore(Time);

    /// <inheritdoc />
    public virtual Task DisposeAsync() => StoreDisposal.DisposeAsync(_store);

    /// <summary>A new pending job of an occurrence.</summary>
    /// <param name="dependsOn">Parents, if any.</param>
    /// <returns>The job.</returns>
    protected JobSnapshot NewJob(IReadOnlyList<JobId>? dependsOn = null)
    {
        var now = Time.GetUtcNow();
        return new JobSnapshot
        {
            Id = JobId.New(now),
            Type = "test",
            Queue = "default",
            Payload = "{}",
            Status = JobStatus.Pending,
            CreatedAt = now,
            ScheduledAt = now,
            Tags = ["schedule:s"],
            DependsOn = dependsOn ?? [],
        };
    }

    /// <summary>Saving creates, then replaces the definition keeping the last-run state; every change moves the version on.</summary>
    [Fact]
    public async Task SaveScheduleAsync_CreatesThenUpdatesKeepingTheLastRun()
    {
        var next = Time.GetUtcNow().AddMinutes(5);
        var created = await Schedules.SaveScheduleAsync("s", "{\"v\":1}", next);
        Assert.Equal(new JobSchedule("s", "{\"v\":1}", false, next, null, null, created.Version), created);

        var job = NewJob();
        Assert.True((await Schedules.FireAsync(new ScheduleFire("s", created.Version, next, next.AddMinutes(5), [job]))).Fired);
        var updated = await Schedules.SaveScheduleAsync("s", "{\"v\":2}", next.AddHours(1));

        Assert.Equal("{\"v\":2}", updated.Definition);
        Assert.Equal(next.AddHours(1), updated.NextFireAt);
        Assert.Equal(next, updated.LastFireAt);
        Assert.Equal(job.Id, updated.LastJobId);
        Assert.True(updated.Version > created.Version + 1);
        Assert.Equal(updated, await Schedules.GetScheduleAsync("s"));
        Assert.Null(await Schedules.GetScheduleAsync("other"));
    }

    /// <summary>Only schedules not paused and due are due; the earliest of the others says when to look again.</summary>
    [Fact]
    public async Task GetDueSchedulesAsync_DueAndNotPausedOnly_WithTheNextDueTime()
    {
        var now = Time.GetUtcNow();
        await Schedules.SaveScheduleAsync("due", "{}", now.AddSeconds(-1));
        await Schedules.SaveScheduleAsync("later", "{}", now.AddMinutes(3));
        await Schedules.SaveScheduleAsync("soon", "{}", now.AddMinutes(1));
        await Schedules.SaveScheduleAsync("paused", "{}", now.AddMinutes(-5));
        await Schedules.SaveScheduleAsync("never", "{}", null);
        Assert.NotNull(await Schedules.SetSchedulePausedAsync("paused", paused: true, null));

        var due = await Schedules.GetDueSchedulesAsync(now);

        Assert.Equal(["due"], due.Due.Select(s => s.Name));
        Assert.Equal(now.AddMinutes(1), due.NextDueAt);
        Assert.Equal(["due", "later", "never", "paused", "soon"], (await Schedules.ListSchedulesAsync()).Select(s => s.Name));
    }

    /// <summary>Pausing keeps the next occurrence it had; resuming sets the one given.</summary>
    [Fact]
    public async Task SetSchedulePausedAsync_PausesAndResumes()
    {
        var next = Time.GetUtcNow().AddMinutes(1);
        await Schedules.SaveScheduleAsync("s", "{}", next);

        var paused = await Schedules.SetSchedulePausedAsync("s", paused: true, null);
        Assert.True(paused!.Paused);
        Assert.Equal(next, paused.NextFireAt);
        var resumed = await Schedules.SetSchedulePausedAsync("s", paused: false, next.AddHours(2));
        Assert.False(resumed!.Paused);
        Assert.Equal(next.AddHours(2), resumed.NextFireAt);
        Assert.Null(await Schedules.SetSchedulePausedAsync("missing", paused: true, null));
    }

    /// <summary>The same occurrence recorded by many nodes at once: one records it, its jobs are inserted once.</summary>
    [Fact]
    public async Task FireAsync_ManyNodesAtOnce_OneRecordsTheOccurrence_ItsJobsAreInsertedOnce()
    {
        var at = Time.GetUtcNow();
        var schedule = await Schedules.SaveScheduleAsync("s", "{}", at);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            await Schedules.FireAsync(new ScheduleFire("s", schedule.Version, at, at.AddMinutes(1), [NewJob()])))));

        var winner = Assert.Single(attempts, a => a.Fired);
        Assert.All(attempts.Where(a => !a.Fired), a => Assert.Empty(a.Jobs));
        var stored = Assert.Single((await Store.ListAsync(new JobQuery { Tag = "schedule:s" })).Items);
        Assert.Equal(winner.Jobs[0].Id, stored.Id);
        var after = await Schedules.GetScheduleAsync("s");
        Assert.Equal(at.AddMinutes(1), after!.NextFireAt);
        Assert.Equal(at, after.LastFireAt);
        Assert.Equal(stored.Id, after.LastJobId);

        // A node that computed from the old state is refused too.
        Assert.False((await Schedules.FireAsync(new ScheduleFire("s", schedule.Version, at, at.AddMinutes(1), [NewJob()]))).Fired);
        Assert.Single((await Store.ListAsync(new JobQuery { Tag = "schedule:s" })).Items);
    }

    /// <summary>An occurrence a policy skips moves the schedule on without a job; a trigger makes a job and leaves the fire times.</summary>
    [Fact]
    public async Task FireAsync_SkippedOccurrenceAndTrigger()
    {
        var at = Time.GetUtcNow();
        var schedule = await Schedules.SaveScheduleAsync("s", "{}", at);

        var skipped = await Schedules.FireAsync(new ScheduleFire("s", schedule.Version, at, at.AddMinutes(1), []));
        Assert.True(skipped.Fired);
        var afterSkip = (await Schedules.GetScheduleAsync("s"))!;
        Assert.Equal(at.AddMinutes(1), afterSkip.NextFireAt);
        Assert.Null(afterSkip.LastJobId);

        var job = NewJob();
        var triggered = await Schedules.FireAsync(new ScheduleFire("s", afterSkip.Version, null, null, [job]));
        Assert.True(triggered.Fired);
        var afterTrigger = (await Schedules.GetScheduleAsync("s"))!;
        Assert.Equal(at.AddMinutes(1), afterTrigger.NextFireAt);
        Assert.Equal(at, afterTrigger.LastFireAt);
        Assert.Equal(job.Id, afterTrigger.LastJobId);
    }

    /// <summary>Several jobs of one occurrence, the second after the first: inserted together, in order, the dependency kept.</summary>
    [Fact]
    public async Task FireAsync_SeveralJobsChained_AreInsertedTogether()
    {
        var at = Time.GetUtcNow();
        var schedule = await Schedules.SaveScheduleAsync("s", "{}", at);
        var first = NewJob();
        var second = NewJob(dependsOn: [first.Id]);

        var fired = await Schedules.FireAsync(new ScheduleFire("s", schedule.Version, at, at.AddMinutes(1), [first, second]));

        Assert.True(fired.Fired);
        Assert.Equal([first.Id, second.Id], fired.Jobs.Select(j => j.Id));
        Assert.Equal(JobWaitReason.Dependencies, (await Store.GetAsync(second.Id))!.WaitReason);
        Assert.Equal(second.Id, (await Schedules.GetScheduleAsync("s"))!.LastJobId);
    }

    /// <summary>A job the store refuses (an unknown parent) records nothing: no job, the schedule unchanged.</summary>
    [Fact]
    public async Task FireAsync_AJobRefused_RecordsNothing()
    {
        var at = Time.GetUtcNow();
        var schedule = await Schedules.SaveScheduleAsync("s", "{}", at);

        await Assert.ThrowsAsync<JobNotFoundException>(async () =>
            await Schedules.FireAsync(new ScheduleFire("s", schedule.Version, at, at.AddMinutes(1), [NewJob(), NewJob(dependsOn: [JobId.New(at)])])));

        Assert.Empty((await Store.ListAsync(new JobQuery { Tag = "schedule:s" })).Items);
        Assert.Equal(schedule, await Schedules.GetScheduleAsync("s"));
    }

    /// <summary>Deleting a schedule leaves its jobs.</summary>
    [Fact]
    public async Task DeleteScheduleAsync_KeepsTheJobs()
    {
        var at = Time.GetUtcNow();
        var schedule = await Schedules.SaveScheduleAsync("s", "{}", at);
        await Schedules.FireAsync(new ScheduleFire("s", schedule.Version, at, at.AddMinutes(1), [NewJob()]));

        Assert.True(await Schedules.DeleteScheduleAsync("s"));
        Assert.False(await Schedules.DeleteScheduleAsync("s"));
        Assert.Empty(await Schedules.ListSchedulesAsync());
        Assert.Single((await Store.ListAsync(new JobQuery { Tag = "schedule:s" })).Items);
    }
}
