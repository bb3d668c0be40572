using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using JobRuntime.Engine;
using JobRuntime.Storage;
using Microsoft.Extensions.Options;

namespace JobRuntime;

/// <summary>The default <see cref="IJobManager"/>.</summary>
internal sealed partial class JobManager : IJobManager, IJobSubmitPreparer
{
    private readonly IJobStore _store;
    private readonly IProgressBroker _broker;
    private readonly JobHandlerRegistry _registry;
    private readonly JobEngine _engine;
    private readonly JobRuntimeOptions _options;
    private readonly TimeProvider _time;
    private readonly IJobSubmitFilter[] _filters;

    // In memory the insert is a call that ends at once: made without the store contract's result object.
    private readonly InMemoryJobStore? _memory;

    public JobManager(IJobStore store, IProgressBroker broker, JobHandlerRegistry registry, JobEngine engine, IOptions<JobRuntimeOptions> options, TimeProvider time, IEnumerable<IJobSubmitFilter>? filters = null)
    {
        _filters = filters?.ToArray() ?? [];
        _store = store;
        _memory = store as InMemoryJobStore;
        _broker = broker;
        _registry = registry;
        _engine = engine;
        _options = options.Value;
        _time = time;
    }

    public ValueTask<JobId> SubmitAsync<TArgs>(TArgs args, JobSubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        var descriptor = _registry.GetByArgs(typeof(TArgs));
        return SubmitCoreAsync(descriptor, descriptor.SerializeArgs(args, _options.SerializerOptions), options, null, cancellationToken);
    }

    public ValueTask<JobId> SubmitAsync<TArgs>(string jobType, TArgs args, JobSubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        var descriptor = _registry.Get(jobType);
        return SubmitCoreAsync(descriptor, descriptor.SerializeArgs(args, _options.SerializerOptions), options, null, cancellationToken);
    }

    public ValueTask<JobId> SubmitJsonAsync(string jobType, string payloadJson, JobSubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        ArgumentNullException.ThrowIfNull(payloadJson);
        var descriptor = _registry.Get(jobType);
        descriptor.ValidatePayload(payloadJson, _options.SerializerOptions);
        return SubmitCoreAsync(descriptor, payloadJson, options, null, cancellationToken);
    }

    public async ValueTask<JobSnapshot?> GetAsync(JobId jobId, CancellationToken cancellationToken = default)
    {
        var job = await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (job is { Status: JobStatus.Running } && _engine.LiveProgress(jobId) is { } live && !ReferenceEquals(live, job.Progress))
        {
            job = job with { Progress = live };
        }

        return job;
    }

    public ValueTask<JobPage> ListAsync(JobQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new JobQuery();
        query.Validate();
        return _store.ListAsync(query, cancellationToken);
    }

    public async ValueTask<JobCancelOutcome> CancelAsync(JobId jobId, CancellationToken cancellationToken = default)
    {
        var result = await _store.CancelAsync(jobId, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case JobCancelOutcome.Cancelled:
                _engine.Notifier.CancelledBeforeRun(jobId, result.CancelledDependents);
                _engine.Wake();
                break;
            case JobCancelOutcome.Requested:
                _engine.Notifier.CancellationRequested(jobId);
                _engine.StopLocal(jobId);
                break;
        }

        return result.Outcome;
    }

    public async ValueTask<bool> DeleteAsync(JobId jobId, CancellationToken cancellationToken = default)
    {
        var result = await _store.DeleteAsync(jobId, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            JobDeleteResult.Deleted => true,
            JobDeleteResult.NotFound => false,
            _ => throw new InvalidOperationException($"Job {jobId} has not finished; cancel it and wait for it to finish before deleting it."),
        };
    }

    public async ValueTask<JobId> RerunAsync(JobId jobId, CancellationToken cancellationToken = default)
    {
        var job = await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
        if (!job.IsTerminal)
        {
            throw new InvalidOperationException($"Job {jobId} is {job.Status}; only a finished job can be re-run.");
        }

        var descriptor = _registry.Get(job.Type);
        var options = new JobSubmitOptions
        {
            Queue = job.Queue,
            Priority = job.Priority,
            Timeout = job.Timeout,
            MaxAttempts = job.MaxAttempts,
            Title = job.Title,
            Tags = job.Tags,
            Retry = job.Retry?.ToPolicy(),
        };
        return await SubmitCoreAsync(descriptor, job.Payload, options, jobId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<JobSnapshot> WaitForCompletionAsync(JobId jobId, CancellationToken cancellationToken = default)
    {
        // Subscribe before reading the store so that a terminal event between the two is not missed;
        // poll the store as well, for jobs that finish in another process.
        using var subscription = _broker.Subscribe(jobId, bufferCapacity: 1);
        while (true)
        {
            var job = await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
            if (job.IsTerminal)
            {
                return job;
            }

            await WaitForTerminalEventAsync(subscription, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<TResult> WaitForResultAsync<TResult>(JobId jobId, CancellationToken cancellationToken = default)
    {
        var job = await WaitForCompletionAsync(jobId, cancellationToken).ConfigureAwait(false);
        return job.Status switch
        {
            JobStatus.Completed => job.GetResult<TResult>(_options.SerializerOptions),
            JobStatus.Cancelled => throw new JobCancelledException(job),
            JobStatus.TimedOut => throw new JobTimedOutException(job),
            _ => throw new JobFailedException(job),
        };
    }

    public async ValueTask<IAsyncEnumerable<JobEvent>> OpenWatchAsync(JobId jobId, CancellationToken cancellationToken = default)
    {
        // The broker knows the job when it was submitted or ran here; otherwise the store must.
        if (!_broker.TryGetState(jobId, out _) && await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new JobNotFoundException(jobId);
        }

        return WatchAsync(jobId, cancellationToken);
    }

    public async IAsyncEnumerable<JobEvent> WatchAsync(JobId jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var subscription = _broker.Subscribe(jobId);
        var reader = subscription.Reader;
        if (!reader.TryPeek(out _))
        {
            // The broker has nothing of the job (no one watched it until now, or it runs elsewhere):
            // start from the stored state, with a running job's live progress.
            var job = await GetAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
            yield return JobEvent.FromSnapshot(job, _time.GetUtcNow());
            if (job.IsTerminal)
            {
                yield break;
            }
        }

        while (true)
        {
            while (reader.TryRead(out var jobEvent))
            {
                yield return jobEvent;
                if (jobEvent.IsTerminal)
                {
                    yield break;
                }
            }

            if (reader.Completion.IsCompleted)
            {
                yield break;
            }

            if (!await WaitToReadOrPollAsync(subscription, cancellationToken).ConfigureAwait(false))
            {
                // Nothing arrived for a poll interval: the job may be running in another process.
                var job = await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false);
                if (job is null || job.IsTerminal)
                {
                    if (job is not null)
                    {
                        yield return JobEvent.FromSnapshot(job, _time.GetUtcNow());
                    }

                    yield break;
                }
            }
        }
    }

    public async IAsyncEnumerable<JobEvent> WatchAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var subscription = _broker.SubscribeAll();
        await foreach (var jobEvent in subscription.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return jobEvent;
        }
    }

    public async ValueTask<ThreadDumps.ThreadDump?> GetThreadDumpAsync(JobId jobId, CancellationToken cancellationToken = default)
    {
        var job = await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
        return ThreadDumps.ThreadDumpJson.FromJob(job);
    }

    public ValueTask<int> CleanupAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(olderThan, TimeSpan.Zero);
        return _store.CleanupAsync(_time.GetUtcNow() - olderThan, cancellationToken);
    }

    private async Task WaitForTerminalEventAsync(JobEventSubscription subscription, CancellationToken cancellationToken)
    {
        var reader = subscription.Reader;
        while (true)
        {
            while (reader.TryRead(out var jobEvent))
            {
                if (jobEvent.IsTerminal)
                {
                    return;
                }
            }

            if (reader.Completion.IsCompleted || !await WaitToReadOrPollAsync(subscription, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <returns><see langword="true"/> when an event can be read; <see langword="false"/> after a poll interval without one.</returns>
    private async Task<bool> WaitToReadOrPollAsync(JobEventSubscription subscription, CancellationToken cancellationToken, TimeSpan? interval = null)
    {
        try
        {
            return await subscription.WaitToReadAsTask(cancellationToken).WaitAsync(interval ?? _options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private ValueTask<JobId> SubmitCoreAsync(JobHandlerDescriptor descriptor, string payload, JobSubmitOptions? options, JobId? rerunOf, CancellationToken cancellationToken)
    {
        if (_memory is not null && _filters.Length == 0 && !Telemetry.JobRuntimeMetrics.ActivitySource.HasListeners())
        {
            // In memory, with no submit filter and nobody tracing, nothing is awaited: no state machine runs.
            // Its errors come back in the returned task, as the awaited path's do.
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (stored, created) = _memory.Insert(Prepare(descriptor, payload, options ?? DefaultSubmitOptions, rerunOf, Activity.Current?.Id));
                Stored(stored, created);
                return new(stored.Id);
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<JobId>(ex);
            }
        }

        return SubmitTracedAsync(descriptor, payload, options, rerunOf, cancellationToken);
    }

    private async ValueTask<JobId> SubmitTracedAsync(JobHandlerDescriptor descriptor, string payload, JobSubmitOptions? options, JobId? rerunOf, CancellationToken cancellationToken)
    {
        // A span of its own for the submit (when anyone listens), a child of the caller's; the run's span links to it.
        using var submit = Telemetry.JobRuntimeMetrics.ActivitySource.HasListeners()
            ? Telemetry.JobRuntimeMetrics.ActivitySource.StartActivity($"submit {descriptor.Name}", ActivityKind.Producer)
            : null;
        submit?.SetTag("jobruntime.job.type", descriptor.Name);
        var job = await PrepareCoreAsync(descriptor, payload, options, rerunOf, submit?.Id, cancellationToken).ConfigureAwait(false);

        JobSnapshot stored;
        bool created;
        if (_memory is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (stored, created) = _memory.Insert(job);
        }
        else
        {
            var result = await _store.InsertAsync(job, cancellationToken).ConfigureAwait(false);
            (stored, created) = (result.Job, result.Created);
        }

        submit?.SetTag("jobruntime.job.id", stored.Id.ToString());
        submit?.SetTag("jobruntime.job.queue", stored.Queue);
        Stored(stored, created);
        return stored.Id;
    }

    /// <summary>After a submit's insert: the submitted event, and the engine told (a job cancelled on arrival, when a parent had already failed, is not).</summary>
    private void Stored(JobSnapshot stored, bool created)
    {
        if (created)
        {
            _engine.Notifier.Submitted(stored);
            if (!stored.IsTerminal)
            {
                _engine.EnsureStarted();
                _engine.Submitted();
            }
        }
    }

    /// <summary>The submit filters, the options' checks and the new job: everything a submit does before it stores.</summary>
    private async ValueTask<JobSnapshot> PrepareCoreAsync(JobHandlerDescriptor descriptor, string payload, JobSubmitOptions? options, JobId? rerunOf, string? traceParent, CancellationToken cancellationToken)
    {
        options = await FilterAsync(descriptor, payload, options, rerunOf, cancellationToken).ConfigureAwait(false);
        return Prepare(descriptor, payload, options, rerunOf, traceParent ?? Activity.Current?.Id);
    }

    /// <summary>The options' checks and the new job, once the filters ran.</summary>
    private JobSnapshot Prepare(JobHandlerDescriptor descriptor, string payload, JobSubmitOptions options, JobId? rerunOf, string? traceParent)
    {
        var now = _time.GetUtcNow();
        Validate(options, now);
        return JobFactory.Create(descriptor, payload, _options, now, ScheduledAt(options, now), options, traceParent, rerunOf);
    }

    /// <summary>Runs the submit filters in the order they were added; returns the options to store.</summary>
    private async ValueTask<JobSubmitOptions> FilterAsync(JobHandlerDescriptor descriptor, string payload, JobSubmitOptions? options, JobId? rerunOf, CancellationToken cancellationToken)
    {
        options ??= DefaultSubmitOptions;
        foreach (var filter in _filters)
        {
            options = await filter.OnSubmitAsync(new JobSubmitContext(descriptor.Name, payload, options, rerunOf), cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The submit filter {filter.GetType().FullName} returned no options (return the options it was given to keep them).");
        }

        return options;
    }

    private static readonly JobSubmitOptions DefaultSubmitOptions = new();

    private static void Validate(JobSubmitOptions options, DateTimeOffset now)
    {
        if (options.Errors(now) is { } errors)
        {
            throw new ArgumentException("Invalid submit options: " + string.Join(" ", errors), nameof(options));
        }
    }
}
