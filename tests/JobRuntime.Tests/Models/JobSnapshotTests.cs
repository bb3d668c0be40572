using System.Text.Json;
using JobRuntime.Tests.TestSupport;

namespace JobRuntime.Tests.Models;

/// <summary>Reading a job's arguments and result, and showing a job, outside WaitForResultAsync.</summary>
public sealed class JobSnapshotTests
{
    [Fact]
    public void Times_ReadBackAsTheSameInstantsInUtc_AndUnsetOnesStayUnset()
    {
        var created = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.FromHours(2)).AddTicks(7);
        var job = new JobSnapshot { Id = JobId.New(), Type = "t", Queue = "q", Payload = "{}", CreatedAt = created, ScheduledAt = created };

        Assert.Equal(created, job.CreatedAt);
        Assert.Equal(TimeSpan.Zero, job.CreatedAt.Offset);
        Assert.Equal(created.UtcTicks, job.ScheduledAt.UtcTicks);
        Assert.Null(job.StartedAt);
        Assert.Null(job.CompletedAt);
        Assert.Null(job.Timeout);
        Assert.Null(job.Duration);

        var finished = job with { StartedAt = created, CompletedAt = created.AddSeconds(3), Timeout = TimeSpan.FromSeconds(5) };
        Assert.Equal(TimeSpan.FromSeconds(3), finished.Duration);
        Assert.Equal(TimeSpan.FromSeconds(5), finished.Timeout);
        Assert.Equal(job.CreatedAt, finished.CreatedAt);
        Assert.Null((finished with { Timeout = null, StartedAt = null }).Timeout);
        Assert.Equal(job, job with { });
        Assert.NotEqual(job, finished);

        // Optional ids and the cache window read back as set, and unset as null.
        var other = JobId.New();
        var linked = job with { RerunOf = other, CachedFrom = other, CacheResultFor = TimeSpan.FromMinutes(3) };
        Assert.Equal((other, other, TimeSpan.FromMinutes(3)), (linked.RerunOf, linked.CachedFrom, linked.CacheResultFor));
        Assert.Equal((null, null, null), ((JobId?)job.RerunOf, (JobId?)job.CachedFrom, (TimeSpan?)job.CacheResultFor));
        Assert.Null((linked with { RerunOf = null }).RerunOf);
    }

    /// <summary>A snapshot with every property set to something other than its default.</summary>
    private static JobSnapshot Full()
    {
        var at = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        return new JobSnapshot
        {
            Id = JobId.New(), Type = "t", Queue = "q", Priority = 3, Payload = "{}", Status = JobStatus.Running, WaitReason = JobWaitReason.Scheduled,
            Progress = new JobProgress(1, 2), Result = "1", Error = new JobError("E", "m"), Artifacts = [new JobArtifact("a", "text/plain", null, [1])],
            Attempt = 2, MaxAttempts = 5, CreatedAt = at, ScheduledAt = at.AddSeconds(1), StartedAt = at.AddSeconds(2), CompletedAt = at.AddSeconds(3),
            Title = "title", Tags = ["x"], DependsOn = [JobId.New()], OnParentFailure = DependencyFailureBehavior.Run, IdempotencyKey = "k",
            Timeout = TimeSpan.FromMinutes(1), CancellationRequested = true, Owner = "w", TraceParent = "00-trace", AttemptErrors = [new JobAttemptError(1, at, "E", "m")],
            CacheResultFor = TimeSpan.FromMinutes(2), Retry = new JobRetryTiming(RetryBackoff.Fixed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), 0),
            CachedFrom = JobId.New(), RerunOf = JobId.New(), BatchId = JobId.New(),
        };
    }

    [Fact]
    public void With_CopiesEveryField_AndAChangeToASubmitTimeFieldLeavesTheOriginalAlone()
    {
        var original = Full();
        foreach (var property in typeof(JobSnapshot).GetProperties().Where(p => p.SetMethod is not null))
        {
            var value = property.GetValue(original);
            Assert.False(value is null || value.Equals(property.PropertyType.IsValueType ? Activator.CreateInstance(property.PropertyType) : null), $"Full() leaves {property.Name} at its default: set it, so that this test checks it is copied.");
        }

        var copy = original with { };
        Assert.Equal(original, copy);
        foreach (var property in typeof(JobSnapshot).GetProperties())
        {
            Assert.Equal(property.GetValue(original), property.GetValue(copy));
        }

        // Changing submit-time fields of a copy (several in one expression) leaves the original as it was.
        var changed = copy with { Title = "other", Tags = ["y"], BatchId = null, Status = JobStatus.Completed };
        Assert.Equal(("title", "x", JobStatus.Running), (original.Title, original.Tags[0], original.Status));
        Assert.Equal(("title", "x"), (copy.Title, copy.Tags[0]));
        Assert.Equal(("other", "y", (JobId?)null), (changed.Title, changed.Tags[0], changed.BatchId));
        Assert.Equal(original.IdempotencyKey, changed.IdempotencyKey);
        Assert.NotEqual(original, changed);
    }

    [Fact]
    public async Task GetResultAndGetArgs_ReadTheStoredJsonAsTheHandlersTypes()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new EchoArgs(21));
        var job = await runtime.Manager.WaitForCompletionAsync(id);

        Assert.Equal(42, job.GetResult<EchoResult>().Doubled);
        Assert.Equal(new EchoArgs(21), job.GetArgs<EchoArgs>());
    }

    [Fact]
    public async Task GetResult_WrongType_NamesTheJob_AndAJobWithoutAResultSaysItsStatus()
    {
        await using var runtime = TestRuntime.Create();
        var done = await runtime.Manager.WaitForCompletionAsync(await runtime.Manager.SubmitAsync(new EchoArgs(1)));
        var wrong = Assert.Throws<InvalidCastException>(() => done.GetResult<int[]>());
        Assert.Contains(done.Id.ToString(), wrong.Message, StringComparison.Ordinal);
        Assert.Contains("System.Int32[]", wrong.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidCastException>(() => done.GetArgs<DateTime>());

        var failed = await runtime.Manager.WaitForCompletionAsync(await runtime.Manager.SubmitAsync(new FailArgs("never", FailTimes: 5)));
        var none = Assert.Throws<InvalidOperationException>(() => failed.GetResult<int>());
        Assert.Contains("Failed", none.Message, StringComparison.Ordinal);
        Assert.Contains(failed.Id.ToString(), none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToView_SerializesCleanly_JsonValuesNotStrings_NamesNotNumbers_NoInternals()
    {
        await using var runtime = TestRuntime.Create();
        var id = await runtime.Manager.SubmitAsync(new EchoArgs(3), new JobSubmitOptions { IdempotencyKey = "secret-key", Title = "three" });
        var job = await runtime.Manager.WaitForCompletionAsync(id);
        Assert.NotNull(job.Owner ?? job.TraceParent ?? job.IdempotencyKey);

        var json = JsonSerializer.Serialize(job.ToView(), JsonSerializerOptions.Web);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;

        Assert.Equal(id.ToString(), root.GetProperty("id").GetString());
        Assert.Equal("Completed", root.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("args").ValueKind);
        Assert.Equal(3, root.GetProperty("args").GetProperty("value").GetInt32());
        Assert.Equal(6, root.GetProperty("result").GetProperty("doubled").GetInt32());
        Assert.Equal("three", root.GetProperty("title").GetString());
        foreach (var internals in new[] { "owner", "traceParent", "idempotencyKey", "payload", "leaseToken" })
        {
            Assert.False(root.TryGetProperty(internals, out _), $"the view shows {internals}: {json}");
        }

        Assert.DoesNotContain("secret-key", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenWatchAsync_UnknownJob_ThrowsAtTheCall_AKnownOneStreamsToItsEnd()
    {
        await using var runtime = TestRuntime.Create();
        var unknown = JobId.New(DateTimeOffset.UtcNow);

        // The lazy stream says nothing until it is read; the open call says it at once.
        var lazy = runtime.Manager.WatchAsync(unknown);
        await Assert.ThrowsAsync<JobNotFoundException>(() => runtime.Manager.OpenWatchAsync(unknown).AsTask());
        await Assert.ThrowsAsync<JobNotFoundException>(async () => await lazy.GetAsyncEnumerator().MoveNextAsync());

        var id = await runtime.Manager.SubmitAsync(new EchoArgs(2, Steps: 2));
        var kinds = new List<JobEventKind>();
        await foreach (var e in await runtime.Manager.OpenWatchAsync(id))
        {
            kinds.Add(e.Kind);
        }

        Assert.Equal(JobEventKind.Completed, kinds[^1]);
    }
}
