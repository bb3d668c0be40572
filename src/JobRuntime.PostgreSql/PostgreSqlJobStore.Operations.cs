using JobRuntime.Storage;
using NpgsqlTypes;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore
{
    private const string Ready = "status = 0 AND pending_parents = 0";

    // Every update of a running job is fenced by its lease token; no row changed means the lease was lost.
    private const string Fence = "WHERE id = @id AND status = 1 AND lease_token = @token";

    private const string ProgressUpdate = """
        progress_current = COALESCE(@current::bigint, progress_current), progress_total = COALESCE(@total::bigint, progress_total),
        progress_message = CASE WHEN @current::bigint IS NULL THEN progress_message ELSE @message::text END,
        progress_stage = CASE WHEN @current::bigint IS NULL THEN progress_stage ELSE @stage::text END
        """;

    /// <summary>
    /// The attempt's error (@error_type, @error_message, at @now) added to the job's history, the
    /// oldest dropped beyond <see cref="Storage.JobAttemptHistory.MaxKept"/> (50); nothing without an error.
    /// </summary>
    private const string HistoryAppend = """
        attempt_errors = CASE WHEN @error_type::text IS NULL THEN attempt_errors ELSE
            (CASE WHEN jsonb_array_length(COALESCE(attempt_errors, '[]'::jsonb)) >= 50 THEN attempt_errors - 0 ELSE COALESCE(attempt_errors, '[]'::jsonb) END)
            || jsonb_build_array(jsonb_build_object('attempt', attempt, 'at', @now::bigint, 'type', @error_type::text, 'message', @error_message::text)) END
        """;

    /// <summary>An error for a job that never ran (cancelled while pending): no attempt to add to the history.</summary>
    private const string ErrorOnly = "error_type = @error_type::text, error_message = @error_message::text, error_stack = @error_stack::text";

    private const string ErrorUpdate = $"{ErrorOnly}, {HistoryAppend}";

    /// <inheritdoc />
    public async ValueTask<JobInsertResult> InsertAsync(JobSnapshot job, CancellationToken cancellationToken = default)
    {
        JobStoreText.ThrowIfNotNew(job);

        if (GoesInBatch(job))
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
            // Not WaitAsync(token): the token withdraws the job while it waits for its batch; once the
            // batch runs, the caller waits for its answer, so a cancelled submit never stored its job.
            var outcome = await Inserts.Enqueue(new PendingInsert(job, cancellationToken)).ConfigureAwait(false);
            return outcome.Result ?? throw outcome.Rethrow();
        }

        try
        {
            return await InsertOneAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgreSqlJobStoreException ex) when (IsConnectionLoss(ex.InnerException))
        {
            var settled = (await SettleAfterConnectionLossAsync([job], ex).ConfigureAwait(false))[0];
            return settled.Result ?? throw settled.Rethrow();
        }
    }

    /// <summary>Stores one job in its own transaction: parents, idempotency key, edges and notification.</summary>
    private Task<JobInsertResult> InsertOneAsync(JobSnapshot job, CancellationToken cancellationToken)
    {
        return InTransactionAsync("store a job", async tx =>
        {
            var result = await InsertCoreAsync(tx, job).ConfigureAwait(false);
            if (result.Created && result.Job.Status == JobStatus.Pending && result.Job.WaitReason != JobWaitReason.Dependencies)
            {
                await NotifyJobsAvailableAsync(tx, result.Job.Queue).ConfigureAwait(false);
            }

            return result;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<ClaimResult> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.MaxCount <= 0)
        {
            return ClaimResult.Empty;
        }

        MaintainTableIfDue();

        // The plain claim is one statement: it needs no transaction of its own unless the per-queue
        // limits lock candidates first or the claim also notifies watchers.
        var transactional = request.QueueLimits is not null || request.Queues is not null || NotifiesStatus;
        return await OnConnectionAsync("claim jobs", async tx =>
        {
            var result = await ClaimCoreAsync(tx, request).ConfigureAwait(false);
            await NotifyStatusAsync(tx, result.Jobs.Select(j => j.Job.Id)).ConfigureAwait(false);
            return result;
        }, transactional, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<LeaseState> RenewAsync(JobLease lease, DateTimeOffset expiresAt, JobProgress? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        return await Renewals.Enqueue(new PendingRenewal(lease, expiresAt, progress)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<JobWriteResult> CompleteAsync(JobLease lease, JobCompletion completion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(completion);
        if (completion.Kind is not (JobCompletionKind.Retry or JobCompletionKind.Release))
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
            return await Completions.Enqueue(new PendingCompletion(lease, completion)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return await InTransactionAsync("record a job's outcome", tx => RequeueAsync(tx, lease, completion), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<JobSnapshot?> GetAsync(JobId id, CancellationToken cancellationToken = default)
        => await ReadAsync("read a job", async tx =>
            (await tx.JobsAsync($"SELECT {Columns} FROM {{S}}.jobs WHERE id = @id", ("id", Key(id))).ConfigureAwait(false)).FirstOrDefault(),
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var (where, parameters) = Filter(query);
        if (query.After is { } after)
        {
            where.Add("id < @after");
            parameters.Add(("after", Key(after)));
        }

        parameters.Add(("limit", query.PageSize + 1));
        var sql = $"SELECT {Columns} FROM {{S}}.jobs {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : string.Empty)} ORDER BY id DESC LIMIT @limit";
        return await ReadAsync("list jobs", async tx =>
        {
            var items = await tx.JobsAsync(sql, [.. parameters]).ConfigureAwait(false);
            return JobListing.PageFromOneMore(items, query.PageSize);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The conditions (and their parameters) of a query's filter, paging aside.</summary>
    private static (List<string> Where, List<(string, object?)> Parameters) Filter(JobQuery query)
    {
        var where = new List<string>();
        var parameters = new List<(string, object?)>();
        if (query.Statuses.Count > 0)
        {
            where.Add("status = ANY(@statuses)");
            if (!query.Statuses.Contains(JobStatus.Running))
            {
                // Lets the planner use the listing index, which leaves running jobs out.
                where.Add("status <> 1");
            }

            parameters.Add(("statuses", query.Statuses.Select(s => (short)s).ToArray()));
        }

        if (query.Type is not null)
        {
            where.Add("type = @type");
            parameters.Add(("type", query.Type));
        }

        if (query.Queue is not null)
        {
            where.Add("queue = @queue");
            parameters.Add(("queue", query.Queue));
        }

        if (query.Tag is not null)
        {
            where.Add("@tag = ANY(tags)");
            parameters.Add(("tag", query.Tag));
        }

        if (query.DependsOn is { } parent)
        {
            where.Add("@parent = ANY(depends_on)");
            parameters.Add(("parent", Key(parent)));
        }

        if (query.BatchId is { } batch)
        {
            where.Add("batch_id = @batch AND id <> @batch");
            parameters.Add(("batch", Key(batch)));
        }

        if (query.CreatedFrom is { } from)
        {
            where.Add("created_at >= @from");
            parameters.Add(("from", Ticks(from)));
        }

        if (query.CreatedBefore is { } before)
        {
            where.Add("created_at < @before");
            parameters.Add(("before", Ticks(before)));
        }

        return (where, parameters);
    }

    /// <inheritdoc />
    public async ValueTask<JobCancelResult> CancelAsync(JobId id, CancellationToken cancellationToken = default)
        => await InTransactionAsync("cancel a job", async tx =>
        {
            switch (await LockStatusAsync(tx, id).ConfigureAwait(false))
            {
                case null:
                    return new JobCancelResult(JobCancelOutcome.NotFound, []);
                case JobStatus.Pending:
                    await tx.ExecuteAsync(
                        $"UPDATE {{S}}.jobs SET status = 4, completed_at = @now, pending_parents = 0, {ErrorOnly} WHERE id = @id",
                        [("now", tx.NowTicks), ("id", Key(id)), .. ErrorParameters(JobStoreErrors.CancelledBeforeRun)]).ConfigureAwait(false);
                    var cancelled = new List<JobId>();
                    await FinishAsync(tx, id, JobStatus.Cancelled, cancelled).ConfigureAwait(false);
                    await NotifyStatusAsync(tx, [id, .. cancelled]).ConfigureAwait(false);
                    return new JobCancelResult(JobCancelOutcome.Cancelled, cancelled);
                case JobStatus.Running:
                    await tx.ExecuteAsync("UPDATE {S}.jobs SET cancel_requested = true WHERE id = @id", ("id", Key(id))).ConfigureAwait(false);
                    await NotifyCancelAsync(tx, id).ConfigureAwait(false);
                    return new JobCancelResult(JobCancelOutcome.Requested, []);
                default:
                    return new JobCancelResult(JobCancelOutcome.AlreadyFinished, []);
            }
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<JobDeleteResult> DeleteAsync(JobId id, CancellationToken cancellationToken = default)
        => await InTransactionAsync("delete a job", async tx =>
        {
            var status = await LockStatusAsync(tx, id).ConfigureAwait(false);
            if (status is null)
            {
                return JobDeleteResult.NotFound;
            }

            if (!status.Value.IsTerminal())
            {
                return JobDeleteResult.NotFinished;
            }

            await tx.ExecuteAsync("DELETE FROM {S}.jobs WHERE id = @id", ("id", Key(id))).ConfigureAwait(false);
            await tx.ExecuteAsync("DELETE FROM {S}.deps WHERE child = @id", ("id", Key(id))).ConfigureAwait(false);
            return JobDeleteResult.Deleted;
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<int> CleanupAsync(DateTimeOffset completedBefore, CancellationToken cancellationToken = default)
        => await InTransactionAsync("clean up finished jobs", async tx =>
        {
            var removed = await tx.ExecuteAsync("DELETE FROM {S}.jobs WHERE status >= 2 AND completed_at < @before", ("before", Ticks(completedBefore))).ConfigureAwait(false);
            if (removed > 0)
            {
                await tx.ExecuteAsync("DELETE FROM {S}.deps d WHERE NOT EXISTS (SELECT 1 FROM {S}.jobs j WHERE j.id = d.child)").ConfigureAwait(false);
            }

            return removed;
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<RecoveryResult> RecoverAsync(Func<JobSnapshot, TimeSpan> retryDelay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retryDelay);
        return await InTransactionAsync("recover expired leases", async tx =>
        {
            // SKIP LOCKED: a job another node is completing right now is not expired for long.
            var jobs = await tx.JobsAsync($"SELECT {Columns} FROM {{S}}.jobs WHERE status = 1 AND lease_expires <= @now FOR UPDATE SKIP LOCKED", ("now", tx.NowTicks)).ConfigureAwait(false);
            if (jobs.Count == 0)
            {
                return RecoveryResult.Empty;
            }

            var recovered = new List<JobSnapshot>(jobs.Count);
            var cancelled = new List<JobId>();
            foreach (var job in jobs)
            {
                var error = JobStoreErrors.LeaseExpired(job);
                if (job.CancellationRequested)
                {
                    // A stored cancel request outlives the worker that never acknowledged it: the job ends Cancelled, it does not run again.
                    recovered.Add(await EndExpiredAsync(tx, job, JobStatus.Cancelled, JobStoreErrors.CancelledWorkerStopped(job), cancelled).ConfigureAwait(false));
                }
                else if (job.Attempt < job.MaxAttempts)
                {
                    var at = tx.Now + retryDelay(job);
                    await tx.ExecuteAsync(
                        $"UPDATE {{S}}.jobs SET status = 0, scheduled_at = @at, owner = NULL, lease_token = NULL, lease_expires = NULL, {ErrorUpdate} WHERE id = @id",
                        [("at", Ticks(at)), ("now", tx.NowTicks), ("id", Key(job.Id)), .. ErrorParameters(error)]).ConfigureAwait(false);
                    var pending = job with { Status = JobStatus.Pending, ScheduledAt = at, Owner = null, Error = error, AttemptErrors = JobAttemptHistory.Append(job.AttemptErrors, job.Attempt, tx.Now, error) };
                    recovered.Add(pending with { WaitReason = JobWaitReasons.Of(pending, waitingForParents: false, tx.Now) });
                }
                else
                {
                    recovered.Add(await EndExpiredAsync(tx, job, JobStatus.Failed, error, cancelled).ConfigureAwait(false));
                }
            }

            await NotifyStatusAsync(tx, recovered.Where(j => j.IsTerminal).Select(j => j.Id).Concat(cancelled)).ConfigureAwait(false);
            return new RecoveryResult(recovered, cancelled);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends a job whose lease expired with <paramref name="status"/> and <paramref name="error"/>, and settles its dependents.</summary>
    private async Task<JobSnapshot> EndExpiredAsync(Tx tx, JobSnapshot job, JobStatus status, JobError error, List<JobId> cancelled)
    {
        await tx.ExecuteAsync(
            $"UPDATE {{S}}.jobs SET status = @status, completed_at = @now, lease_token = NULL, lease_expires = NULL, {ErrorUpdate} WHERE id = @id",
            [("status", (short)status), ("now", tx.NowTicks), ("id", Key(job.Id)), .. ErrorParameters(error)]).ConfigureAwait(false);
        await FinishAsync(tx, job.Id, status, cancelled).ConfigureAwait(false);
        return job with { Status = status, CompletedAt = tx.Now, Error = error, AttemptErrors = JobAttemptHistory.Append(job.AttemptErrors, job.Attempt, tx.Now, error) };
    }

    /// <summary>A retry or a release hands the job back as pending; final outcomes go through the batch writer.</summary>
    private static async Task<JobWriteResult> RequeueAsync(Tx tx, JobLease lease, JobCompletion completion)
    {
        var fence = new (string, object?)[] { ("id", Key(lease.JobId)), ("token", lease.Token) };
        int changed = completion.Kind == JobCompletionKind.Retry
            ? await tx.ExecuteAsync(
                $"UPDATE {{S}}.jobs SET status = 0, scheduled_at = @at, owner = NULL, lease_token = NULL, lease_expires = NULL, {ErrorUpdate}, {ProgressUpdate} {Fence}",
                [("at", Ticks(completion.RetryAt ?? tx.Now)), ("now", tx.NowTicks), .. ErrorParameters(completion.Error), .. ProgressParameters(completion.Progress), .. fence]).ConfigureAwait(false)
            : await tx.ExecuteAsync(
                $"UPDATE {{S}}.jobs SET status = 0, attempt = GREATEST(0, attempt - 1), scheduled_at = COALESCE(@at::bigint, scheduled_at), owner = NULL, lease_token = NULL, lease_expires = NULL {Fence}",
                [("at", completion.RetryAt is { } runAt ? Ticks(runAt) : null), .. fence]).ConfigureAwait(false);
        return changed == 0 ? JobWriteResult.Rejected : new JobWriteResult(true, []);
    }

    // A job became terminal: release or cancel its dependents (transitively).
    private static async Task FinishAsync(Tx tx, JobId id, JobStatus status, List<JobId> cancelled)
    {
        var stack = new Stack<(JobId Id, JobStatus Status)>();
        stack.Push((id, status));
        while (stack.TryPop(out var finished))
        {
            // Removing the parent's edges returns its dependents; most jobs have none, so this is one statement.
            var children = new List<(JobId Id, DependencyFailureBehavior Behavior)>();
            await using (var edges = tx.Command(
                """
                WITH removed AS (DELETE FROM {S}.deps WHERE parent = @parent RETURNING child)
                SELECT j.id, j.on_parent_failure FROM {S}.jobs j JOIN removed ON j.id = removed.child WHERE j.status = 0
                ORDER BY j.id FOR UPDATE OF j
                """,
                ("parent", Key(finished.Id))))
            {
                await using var reader = await edges.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
                while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
                {
                    children.Add((new JobId(reader.GetGuid(0)), (DependencyFailureBehavior)reader.GetInt16(1)));
                }
            }

            foreach (var (childId, behavior) in children)
            {
                if (finished.Status != JobStatus.Completed && behavior == DependencyFailureBehavior.Cancel)
                {
                    var error = JobStoreErrors.ParentFailed(finished.Id, finished.Status);
                    await tx.ExecuteAsync(
                        $"UPDATE {{S}}.jobs SET status = 4, completed_at = @now, pending_parents = 0, {ErrorOnly} WHERE id = @id",
                        [("now", tx.NowTicks), ("id", Key(childId)), .. ErrorParameters(error with { StackTrace = null })]).ConfigureAwait(false);
                    cancelled.Add(childId);
                    stack.Push((childId, JobStatus.Cancelled));
                }
                else
                {
                    await tx.ExecuteAsync("UPDATE {S}.jobs SET pending_parents = GREATEST(0, pending_parents - 1) WHERE id = @id", ("id", Key(childId))).ConfigureAwait(false);
                }
            }
        }
    }

    private static async Task<JobStatus?> LockStatusAsync(Tx tx, JobId id)
        => await tx.ScalarAsync("SELECT status FROM {S}.jobs WHERE id = @id FOR UPDATE", ("id", Key(id))).ConfigureAwait(false) is short status
            ? (JobStatus)status
            : null;

    private static (string, object?)[] ErrorParameters(JobError? error) =>
        [("error_type", PostgreSqlText.Clean(error?.Type)), ("error_message", PostgreSqlText.Clean(error?.Message)), ("error_stack", PostgreSqlText.Clean(error?.StackTrace))];

    private static (string, object?)[] ProgressParameters(JobProgress? progress) =>
        [("current", progress?.Current), ("total", progress?.Total), ("message", PostgreSqlText.Clean(progress?.Message)), ("stage", PostgreSqlText.Clean(progress?.Stage))];
}
