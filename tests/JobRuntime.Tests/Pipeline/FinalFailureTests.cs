using System.Collections.Concurrent;
using JobRuntime.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime.Tests.Pipeline;

/// <summary>A handler's final-failure hook: called once, with the failed job, when a job fails for good.</summary>
public sealed class FinalFailureTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>What the hooks saw; a scoped service to show the hook has a scope of its own.</summary>
    public sealed class DeadLetters
    {
        public ConcurrentDictionary<JobId, TaskCompletionSource<(JobSnapshot Job, bool HadScope)>> Calls { get; } = new();

        public Task<(JobSnapshot Job, bool HadScope)> For(JobId id) => Calls.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
    }

    public sealed class ScopedMarker;

    private static TestRuntime Start() => TestRuntime.Create(builder: b =>
    {
        b.Services.AddSingleton<DeadLetters>();
        b.Services.AddScoped<ScopedMarker>();
        b.AddHandler<RetryPolicyTests.ThrowingHandler>("doomed", h =>
        {
            h.MaxAttempts = 3;
            h.Retry = new JobRetryPolicy { Delay = TimeSpan.FromMilliseconds(1), Jitter = 0 }.Handle<TimeoutException>();
            h.OnFinalFailure = async (job, services, token) =>
            {
                await Task.Yield();
                if (job.Error!.Message == "a bug" && job.Tags.Contains("explode"))
                {
                    throw new InvalidOperationException("the hook itself failed");
                }

                services.GetRequiredService<DeadLetters>().Calls.GetOrAdd(job.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously))
                    .TrySetResult((job, services.GetService<ScopedMarker>() is not null));
            };
        });
    });

    [Fact]
    public async Task AJobThatUsesUpItsAttempts_CallsTheHookOnce_WithTheFailedJob()
    {
        await using var runtime = Start();
        var letters = runtime.Services.GetRequiredService<DeadLetters>();

        var id = await runtime.Manager.SubmitAsync(new RetryPolicyTests.ThrowArgs("timeout"));
        var (job, hadScope) = await letters.For(id).WaitAsync(Guard);

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(3, job.Attempt);
        Assert.Equal("upstream slow (attempt 3)", job.Error!.Message);
        Assert.NotNull(job.CompletedAt);
        Assert.True(hadScope);
        Assert.Equal(JobStatus.Failed, (await runtime.Manager.GetAsync(id))!.Status);
    }

    [Fact]
    public async Task AFailureThePolicyDoesNotRetry_CallsTheHookAtOnce_AndAHookThatThrowsHurtsNothing()
    {
        await using var runtime = Start();
        var letters = runtime.Services.GetRequiredService<DeadLetters>();

        // This one's hook throws: logged, and nothing else changes.
        var exploding = await runtime.Manager.SubmitAsync(new RetryPolicyTests.ThrowArgs("bug"), new JobSubmitOptions { Tags = ["explode"] });
        Assert.Equal(JobStatus.Failed, (await runtime.Manager.WaitForCompletionAsync(exploding).WaitAsync(Guard)).Status);

        var id = await runtime.Manager.SubmitAsync(new RetryPolicyTests.ThrowArgs("bug"));
        var (job, _) = await letters.For(id).WaitAsync(Guard);

        Assert.Equal(1, job.Attempt);
        Assert.Equal(typeof(InvalidOperationException).FullName, job.Error!.Type);
    }
}
