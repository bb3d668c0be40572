using System.Diagnostics;
using System.Runtime.CompilerServices;
using JobRuntime.Storage;

namespace JobRuntime;

internal sealed partial class JobManager
{
    /// <summary>How many members <see cref="CancelBatchAsync"/> cancels at once.</summary>
    private const int CancelParallelism = 16;

    private static readonly IReadOnlyList<JobStatus> NotCompleted = [JobStatus.Failed, JobStatus.Cancelled, JobStatus.TimedOut];

    public async ValueTask<JobBatchSubmitted> SubmitBatchAsync(JobBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var submit = Telemetry.JobRuntimeMetrics.ActivitySource.StartActivity("submit batch", ActivityKind.Producer);
        submit?.SetTag("jobruntime.batch.size", batch.Count);
        var jobs = await PrepareBatchCoreAsync(batch, submit?.Id, cancellationToken).ConfigureAwait(false);
        var headId = jobs[^1].Id;
        var results = await _store.InsertManyAsync(jobs, cancellationToken).ConfigureAwait(false);
        submit?.SetTag("jobruntime.batch.id", headId.ToString());
        foreach (var result in results)
        {
            if (result.Created)
            {
                _engine.Notifier.Submitted(result.Job);
            }
        }

        _engine.EnsureStarted();
        _engine.Wake();
        return new JobBatchSubmitted(headId, jobs[^1].DependsOn);
    }

    public IJobStore Store => _store;

    // Preparing announces a submit stored elsewhere: the dispatcher starts (without a host, a submit starts it),
    // and the store's signal at the caller's commit wakes it.
    public ValueTask<JobSnapshot> PrepareAsync<TArgs>(string? jobType, TArgs args, JobSubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        _engine.EnsureStarted();
        var descriptor = jobType is null ? _registry.GetByArgs(typeof(TArgs)) : _registry.Get(jobType);
        return PrepareCoreAsync(descriptor, descriptor.SerializeArgs(args, _options.SerializerOptions), options, null, null, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<JobSnapshot>> PrepareBatchAsync(JobBatch batch, CancellationToken cancellationToken = default)
    {
        _engine.EnsureStarted();
        return await PrepareBatchCoreAsync(batch, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A batch's jobs, every one checked first (every problem named at once): the members in order, then the head.</summary>
    private async ValueTask<JobSnapshot[]> PrepareBatchCoreAsync(JobBatch batch, string? traceParent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one job.", nameof(batch));
        }

        var now = _time.GetUtcNow();
        traceParent ??= Activity.Current?.Id;
        var problems = new List<JobBatchProblem>();
        var head = batch.Continuation is { } continuation
            ? await PrepareAsync(continuation, -1, problems, now, cancellationToken).ConfigureAwait(false)
            : new Prepared(_registry.Get(JobBatch.HeadType), System.Text.Json.JsonSerializer.Serialize(new BatchHeadArgs(batch.Count), _options.SerializerOptions), DefaultSubmitOptions);
        var prepared = new Prepared?[batch.Count];
        for (var i = 0; i < prepared.Length; i++)
        {
            prepared[i] = await PrepareAsync(batch.Jobs[i], i, problems, now, cancellationToken).ConfigureAwait(false);
        }

        if (problems.Count > 0)
        {
            throw new JobBatchRejectedException(problems);
        }

        var headId = JobId.New(now);
        var jobs = new JobSnapshot[prepared.Length + 1];
        var memberIds = new JobId[prepared.Length];
        for (var i = 0; i < prepared.Length; i++)
        {
            var member = prepared[i]!;
            jobs[i] = JobFactory.Create(member.Descriptor, member.Payload, _options, now, ScheduledAt(member.Options, now), member.Options, traceParent, batchId: headId);
            memberIds[i] = jobs[i].Id;
        }

        var headOptions = head!.Options with
        {
            Title = head.Options.Title ?? batch.Title ?? $"Batch of {batch.Count} jobs",
            Tags = head.Options.Tags.Count > 0 ? head.Options.Tags : batch.Tags,
        };

        // The head waits for every member and runs whatever their outcome.
        jobs[^1] = JobFactory.Create(head.Descriptor, head.Payload, _options, now, ScheduledAt(headOptions, now), headOptions, traceParent) with
        {
            Id = headId,
            BatchId = headId,
            DependsOn = memberIds,
            OnParentFailure = DependencyFailureBehavior.Run,
        };
        return jobs;
    }

    public async ValueTask<JobBatchStatus?> GetBatchAsync(JobId batchId, CancellationToken cancellationToken = default)
    {
        var head = await _store.GetAsync(batchId, cancellationToken).ConfigureAwait(false);
        return head is { IsBatchHead: true } ? await BatchStatusAsync(head, cancellationToken).ConfigureAwait(false) : null;
    }

    public async IAsyncEnumerable<JobBatchStatus> WatchBatchAsync(JobId batchId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The head's events end the wait at once when it finishes; the members' counts are read every interval.
        using var headEvents = _broker.Subscribe(batchId, bufferCapacity: 1);
        var status = await GetBatchAsync(batchId, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(batchId);
        yield return status;
        while (!status.IsFinished)
        {
            // An event of the head, or the interval: either way, read the counts again. (The head's stream ends
            // after its terminal event; from then on only the interval paces the reads.)
            if (headEvents.Reader.Completion.IsCompleted)
            {
                await Task.Delay(_options.BatchRefreshInterval, _time, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await WaitToReadOrPollAsync(headEvents, cancellationToken, _options.BatchRefreshInterval).ConfigureAwait(false);
            }
            while (headEvents.Reader.TryRead(out _))
            {
                // Only the wake-up matters; the store has the state.
            }

            var next = await GetBatchAsync(batchId, cancellationToken).ConfigureAwait(false);
            if (next is null)
            {
                // Deleted meanwhile.
                yield break;
            }

            if (!SameStatus(next, status))
            {
                status = next;
                yield return status;
            }
        }
    }

    public async ValueTask<int> CancelBatchAsync(JobId batchId, CancellationToken cancellationToken = default)
    {
        var head = await _store.GetAsync(batchId, cancellationToken).ConfigureAwait(false);
        if (head is not { IsBatchHead: true })
        {
            throw new JobNotFoundException(batchId);
        }

        // The head first, so that the continuation never runs once the last member has ended.
        var cancelled = 0;
        if (!head.IsTerminal && await CancelAsync(batchId, cancellationToken).ConfigureAwait(false) is JobCancelOutcome.Cancelled or JobCancelOutcome.Requested)
        {
            cancelled++;
        }

        // Pending members before running ones: a running member that stops frees its slot, which must not go to a
        // sibling not cancelled yet.
        cancelled += await CancelMembersAsync(batchId, JobStatus.Pending, cancellationToken).ConfigureAwait(false);
        cancelled += await CancelMembersAsync(batchId, JobStatus.Running, cancellationToken).ConfigureAwait(false);
        return cancelled;
    }

    /// <summary>Cancels a batch's members in one status, page by page, a few at a time; how many were cancelled or asked to stop.</summary>
    private async Task<int> CancelMembersAsync(JobId batchId, JobStatus status, CancellationToken cancellationToken)
    {
        var cancelled = 0;
        var query = new JobQuery { BatchId = batchId, Statuses = [status], PageSize = JobQuery.MaxPageSize };
        while (true)
        {
            var page = await _store.ListAsync(query, cancellationToken).ConfigureAwait(false);
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = CancelParallelism, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(page.Items, parallel, async (job, token) =>
            {
                if (await CancelAsync(job.Id, token).ConfigureAwait(false) is JobCancelOutcome.Cancelled or JobCancelOutcome.Requested)
                {
                    Interlocked.Increment(ref cancelled);
                }
            }).ConfigureAwait(false);
            if (page.NextCursor is not { } next)
            {
                return cancelled;
            }

            query = query with { After = next };
        }
    }

    private async ValueTask<JobBatchStatus> BatchStatusAsync(JobSnapshot head, CancellationToken cancellationToken)
    {
        var members = new JobQuery { BatchId = head.Id, PageSize = JobQuery.MaxPageSize };
        var counts = _store is IJobStoreStatistics statistics
            ? await statistics.CountAsync(members, cancellationToken).ConfigureAwait(false)
            : await CountByListingAsync(members, cancellationToken).ConfigureAwait(false);

        // The head waits for every member: their number is its parents'. A member the store no longer keeps counts as finished.
        long total = head.DependsOn.Count;
        var finished = total - counts.Pending - counts.Running;
        var notCompleted = counts.Failed + counts.Cancelled + counts.TimedOut;
        IReadOnlyList<JobId> failedJobs = [];
        if (notCompleted > 0)
        {
            var page = await _store.ListAsync(members with { Statuses = NotCompleted, PageSize = 100 }, cancellationToken).ConfigureAwait(false);
            failedJobs = [.. page.Items.Select(j => j.Id)];
        }

        var state = head.Status == JobStatus.Cancelled ? JobBatchState.Cancelled
            : counts.Pending + counts.Running == 0 ? (notCompleted > 0 ? JobBatchState.Failed : JobBatchState.Succeeded)
            : counts.Running > 0 || finished > 0 ? JobBatchState.Running
            : JobBatchState.Pending;
        return new JobBatchStatus
        {
            BatchId = head.Id,
            Title = head.Title,
            State = state,
            Total = total,
            Pending = counts.Pending,
            Running = counts.Running,
            Completed = counts.Completed,
            Failed = counts.Failed,
            Cancelled = counts.Cancelled,
            TimedOut = counts.TimedOut,
            Progress = total == 0 ? 1 : Math.Clamp((finished + counts.UnfinishedProgress) / total, 0, 1),
            FailedJobs = failedJobs,
            HeadStatus = head.Status,
            ContinuationType = head.Type == JobBatch.HeadType ? null : head.Type,
            CreatedAt = head.CreatedAt,
        };
    }

    /// <summary>Counts a batch page by page, for a store that cannot count (<see cref="IJobStoreStatistics"/>).</summary>
    private async ValueTask<JobCounts> CountByListingAsync(JobQuery query, CancellationToken cancellationToken)
    {
        var jobs = new List<JobSnapshot>();
        while (true)
        {
            var page = await _store.ListAsync(query, cancellationToken).ConfigureAwait(false);
            jobs.AddRange(page.Items);
            if (page.NextCursor is not { } next)
            {
                return JobCounts.Of(jobs);
            }

            query = query with { After = next };
        }
    }

    private static bool SameStatus(JobBatchStatus a, JobBatchStatus b)
        => a with { FailedJobs = b.FailedJobs } == b && a.FailedJobs.SequenceEqual(b.FailedJobs);

    private static DateTimeOffset ScheduledAt(JobSubmitOptions options, DateTimeOffset now) => options.RunAt ?? (options.Delay is { } delay ? now + delay : now);

    /// <summary>A batch job resolved, serialized and filtered; <see langword="null"/> when refused (its problems added).</summary>
    private async ValueTask<Prepared?> PrepareAsync(JobBatch.Entry entry, int index, List<JobBatchProblem> problems, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var jobType = entry.JobType;
        try
        {
            var descriptor = jobType is null ? _registry.GetByArgs(entry.ArgsType) : _registry.Get(jobType);
            jobType = descriptor.Name;
            var payload = entry.Payload(descriptor, _options.SerializerOptions);
            var options = await FilterAsync(descriptor, payload, entry.Options, null, cancellationToken).ConfigureAwait(false);

            var errors = options.Errors(now) ?? [];
            if (options.IdempotencyKey is not null)
            {
                errors.Add("A job of a batch cannot have an idempotency key (nor a result cache): the batch is stored whole.");
            }

            if (index < 0 && options.DependsOn.Count > 0)
            {
                errors.Add("The continuation waits for the batch; it cannot name other parents.");
            }

            if (errors.Count > 0)
            {
                problems.Add(new JobBatchProblem(index, jobType, string.Join(" ", errors)));
                return null;
            }

            return new Prepared(descriptor, payload, options);
        }
        catch (Exception ex) when (ex is UnknownJobTypeException or JobPayloadException or JobSubmitRejectedException)
        {
            problems.Add(new JobBatchProblem(index, jobType, ex.Message));
            return null;
        }
    }

    private sealed record Prepared(JobHandlerDescriptor Descriptor, string Payload, JobSubmitOptions Options);
}
