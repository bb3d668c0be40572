using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace JobRuntime;

/// <summary>What a running job sees of the runtime: its identity, token, progress reporting, events and parents' results.</summary>
public sealed class JobContext
{
    // The run holds the job, its token, its services and the serializer settings: a context per
    // attempt keeps only what is its own (one object of three fields).
    private readonly IJobRunSink _sink;

    internal JobContext(IJobRunSink sink, ILogger logger, IReadOnlyList<JobSnapshot> parents)
    {
        _sink = sink;
        Logger = logger;
        Parents = parents;
    }

    /// <summary>The job as it was claimed.</summary>
    public JobSnapshot Job => _sink.Job;

    /// <summary>The job's id.</summary>
    public JobId JobId => _sink.Definition.Id;

    /// <summary>The job's type.</summary>
    public string JobType => _sink.Definition.Type;

    /// <summary>The attempt, starting at 1.</summary>
    public int Attempt => _sink.Attempt;

    /// <summary>The most attempts the job may make.</summary>
    public int MaxAttempts => _sink.Definition.MaxAttempts;

    /// <summary>Trips when the job is cancelled, times out or the runtime shuts down.</summary>
    public CancellationToken CancellationToken => _sink.CancellationToken;

    /// <summary>A logger whose scope carries the job's id and type.</summary>
    public ILogger Logger { get; }

    /// <summary>The attempt's DI scope (made on first use; disposed when the attempt ends).</summary>
    public IServiceProvider Services => _sink.Services;

    /// <summary>
    /// The parent jobs (all terminal; completed unless the job runs on parent failure). Empty for a batch's
    /// head (its continuation), which reads its batch's outcome with <see cref="IJobManager.GetBatchAsync"/>.
    /// </summary>
    public IReadOnlyList<JobSnapshot> Parents { get; }

    /// <summary>
    /// Stops this attempt and runs the job again after <paramref name="delay"/>, without using up an
    /// attempt (throws <see cref="JobPostponedException"/>; do not catch it).
    /// </summary>
    /// <param name="delay">How long to wait: zero to <see cref="JobPostponedException.MaxDelay"/>.</param>
    /// <param name="reason">Why (an upstream's answer, say).</param>
    /// <exception cref="JobPostponedException">Always: it is how the attempt ends.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or too long.</exception>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void RetryIn(TimeSpan delay, string? reason = null) => throw new JobPostponedException(delay, reason);

    /// <summary>Reports progress. Never blocks: subscribers see it at once, the store gets it throttled.</summary>
    /// <param name="current">Units done.</param>
    /// <param name="total">Units in all (zero or less when unknown).</param>
    /// <param name="message">An optional message.</param>
    public void ReportProgress(long current, long total, string? message = null) => _sink.ReportProgress(current, total, message);

    /// <summary>Enters a stage (for example "warmup" then "sampling"). Subscribers always receive stage changes.</summary>
    /// <param name="stage">The stage's name.</param>
    public void SetStage(string stage)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stage);
        _sink.SetStage(stage);
    }

    /// <summary>
    /// Publishes a custom event to the job's subscribers (a sampler's "divergence detected", say).
    /// Custom events are live only (not stored) and, like progress, a slow subscriber may drop the oldest.
    /// </summary>
    /// <typeparam name="T">The data's type.</typeparam>
    /// <param name="name">The event's name.</param>
    /// <param name="data">The event's data.</param>
    public void Publish<T>(string name, T data)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _sink.PublishCustom(name, data);
    }

    /// <summary>Attaches an artifact (a file or a small blob) to the job's result.</summary>
    /// <param name="artifact">The artifact.</param>
    public void AddArtifact(JobArtifact artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        _sink.AddArtifact(artifact);
    }

    /// <summary>The result of a parent job, deserialized.</summary>
    /// <typeparam name="T">The parent's result type.</typeparam>
    /// <param name="parentId">The parent's id.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException">The job is not a parent of this job.</exception>
    /// <exception cref="InvalidOperationException">The parent did not complete.</exception>
    public T GetParentResult<T>(JobId parentId)
    {
        foreach (var parent in Parents)
        {
            if (parent.Id == parentId)
            {
                return Deserialize<T>(parent);
            }
        }

        throw new ArgumentException($"Job {parentId} is not a parent of job {JobId}.", nameof(parentId));
    }

    /// <summary>The result of the only parent job, deserialized.</summary>
    /// <typeparam name="T">The parent's result type.</typeparam>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidOperationException">The job does not have exactly one parent, or it did not complete.</exception>
    public T GetParentResult<T>()
    {
        if (Parents.Count != 1)
        {
            throw new InvalidOperationException($"Job {JobId} has {Parents.Count} parents; name the one you want with GetParentResult<T>(parentId).");
        }

        return Deserialize<T>(Parents[0]);
    }

    private T Deserialize<T>(JobSnapshot parent)
    {
        if (parent.Status != JobStatus.Completed || parent.Result is null)
        {
            throw new InvalidOperationException($"Parent job {parent.Id} ended {parent.Status} and has no result.");
        }

        return JsonSerializer.Deserialize<T>(parent.Result, _sink.SerializerOptions)!;
    }
}
