using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore
{
    private const string Ready = "status = 0 AND pending_parents = 0";

    /// <inheritdoc />
    public async ValueTask<JobInsertResult> InsertAsync(JobSnapshot job, CancellationToken cancellationToken = default)
    {
        JobStoreText.ThrowIfNotNew(job);

        return await WriteAsync("store a job", c => Insert(c, job), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<ClaimResult> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.MaxCount <= 0)
        {
            return ClaimResult.Empty;
        }

        return await WriteAsync("claim jobs", c => Claim(c, request), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<LeaseState> RenewAsync(JobLease lease, DateTimeOffset expiresAt, JobProgress? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return await WriteAsync("renew a lease", c => Renew(c, lease, expiresAt, progress), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<JobWriteResult> CompleteAsync(JobLease lease, JobCompletion completion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(completion);
        return await WriteAsync("record a job's outcome", c => Complete(c, lease, completion), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<JobSnapshot?> GetAsync(JobId id, CancellationToken cancellationToken = default)
        => await ReadAsync("read a job", connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM jr_jobs WHERE id = $id";
            command.Parameters.AddWithValue("$id", Key(id));
            return ReadJobs(command, _time.GetUtcNow()).FirstOrDefault();
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        return await ReadAsync("list jobs", connection =>
        {
            using var command = connection.CreateCommand();
            var where = Filter(command, query);
            if (query.After is { } after)
            {
                where.Add("id < $after");
                command.Parameters.AddWithValue("$after", Key(after));
            }

            command.CommandText = $"SELECT {Columns} FROM jr_jobs {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY id DESC LIMIT $limit";
            command.Parameters.AddWithValue("$limit", query.PageSize + 1);
            var items = ReadJobs(command, _time.GetUtcNow());
            return JobListing.PageFromOneMore(items, query.PageSize);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The conditions (and their parameters) of a query's filter, paging aside.</summary>
    private static List<string> Filter(SqliteCommand command, JobQuery query)
    {
        var where = new List<string>();
        if (query.Statuses.Count > 0)
        {
            where.Add($"status IN ({string.Join(", ", query.Statuses.Select(s => (int)s))})");
            if (!query.Statuses.Contains(JobStatus.Running))
            {
                // Lets the planner use the listing index, which leaves running jobs out.
                where.Add("status <> 1");
            }

        }

        if (query.Type is not null)
        {
            where.Add("type = $type");
            command.Parameters.AddWithValue("$type", query.Type);
        }

        if (query.Queue is not null)
        {
            where.Add("queue = $queue");
            command.Parameters.AddWithValue("$queue", query.Queue);
        }

        if (query.Tag is not null)
        {
            where.Add("EXISTS (SELECT 1 FROM json_each(jr_jobs.tags) WHERE json_each.value = $tag)");
            command.Parameters.AddWithValue("$tag", query.Tag);
        }

        if (query.DependsOn is { } parent)
        {
            where.Add("EXISTS (SELECT 1 FROM json_each(jr_jobs.depends_on) WHERE json_each.value = $parent)");
            command.Parameters.AddWithValue("$parent", parent.ToString());
        }

        if (query.BatchId is { } batch)
        {
            where.Add("batch_id = $batch AND id <> $batch");
            command.Parameters.AddWithValue("$batch", Key(batch));
        }

        if (query.CreatedFrom is { } from)
        {
            where.Add("created_at >= $from");
            command.Parameters.AddWithValue("$from", Ticks(from));
        }

        if (query.CreatedBefore is { } before)
        {
            where.Add("created_at < $before");
            command.Parameters.AddWithValue("$before", Ticks(before));
        }

        return where;
    }

    /// <inheritdoc />
    public async ValueTask<JobCancelResult> CancelAsync(JobId id, CancellationToken cancellationToken = default)
        => await WriteAsync("cancel a job", c => Cancel(c, id), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<JobDeleteResult> DeleteAsync(JobId id, CancellationToken cancellationToken = default)
        => await WriteAsync("delete a job", c =>
        {
            var status = Status(c, id);
            if (status is null)
            {
                return JobDeleteResult.NotFound;
            }

            if (!status.Value.IsTerminal())
            {
                return JobDeleteResult.NotFinished;
            }

            var delete = c.Command("DELETE FROM jr_jobs WHERE id = $id");
            delete.Bind("$id", id);
            delete.Execute();
            return JobDeleteResult.Deleted;
        }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<int> CleanupAsync(DateTimeOffset completedBefore, CancellationToken cancellationToken = default)
    {
        var removed = await WriteAsync("clean up finished jobs", c =>
        {
            var delete = c.Command("DELETE FROM jr_jobs WHERE status >= 2 AND completed_at < $before");
            delete.Bind("$before", Ticks(completedBefore));
            var count = delete.Execute();
            c.Command("DELETE FROM jr_deps WHERE NOT EXISTS (SELECT 1 FROM jr_jobs WHERE jr_jobs.id = jr_deps.child)").Execute();
            return count;
        }, cancellationToken).ConfigureAwait(false);

        if (removed > 0)
        {
            // Give the freed pages back to the file system (auto_vacuum = INCREMENTAL).
            await ReadAsync("reclaim space", connection =>
            {
                using var vacuum = connection.CreateCommand();
                vacuum.CommandText = "PRAGMA incremental_vacuum";
                vacuum.ExecuteNonQuery();

                // And the write-ahead log's space: a truncating checkpoint empties the -wal file
                // (it does nothing while another connection is reading; the next cleanup tries again).
                using var truncate = connection.CreateCommand();
                truncate.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
                truncate.ExecuteNonQuery();
                return 0;
            }, cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }

    /// <inheritdoc />
    public async ValueTask<RecoveryResult> RecoverAsync(Func<JobSnapshot, TimeSpan> retryDelay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retryDelay);
        return await WriteAsync("recover expired leases", c => Recover(c, retryDelay), cancellationToken).ConfigureAwait(false);
    }

    private static JobInsertResult Insert(WriteContext c, JobSnapshot job)
    {
        if (job.IdempotencyKey is { } key)
        {
            var existing = c.Command($"SELECT {Columns} FROM jr_jobs WHERE idempotency_key = $key AND status IN (0, 1)");
            existing.Bind("$key", key);
            if (ReadJobs(existing, c.Now).FirstOrDefault() is { } found)
            {
                return new JobInsertResult(found, Created: false);
            }
        }

        if (JobResultCache.Since(job, c.Now) is { } since)
        {
            var recent = c.Command($"SELECT {Columns} FROM jr_jobs WHERE idempotency_key = $key AND status = 2 AND cached_from IS NULL AND type = $type AND completed_at >= $since ORDER BY completed_at DESC LIMIT 1");
            recent.Bind("$key", job.IdempotencyKey);
            recent.Bind("$type", job.Type);
            recent.Bind("$since", Ticks(since));
            if (ReadJobs(recent, c.Now).FirstOrDefault() is { } from)
            {
                // Stored as a new job, then completed with the reused result in the same write.
                var served = JobResultCache.Served(job, from, c.Now);
                InsertNew(c, job with { DependsOn = [] });
                var complete = c.Command("""
                    UPDATE jr_jobs SET status = 2, result = $result, completed_at = $now, cached_from = $from,
                        progress_current = $current, progress_total = $total, progress_message = $message, progress_stage = $stage
                    WHERE id = $id
                    """);
                complete.Bind("$result", served.Result);
                complete.Bind("$now", c.NowTicks);
                complete.Bind("$from", from.Id);
                AddProgress(complete, served.Progress);
                complete.Bind("$id", job.Id);
                complete.Execute();
                return new JobInsertResult(served, Created: true);
            }
        }

        return InsertNew(c, job);
    }

    private static JobInsertResult InsertNew(WriteContext c, JobSnapshot job)
    {
        var dependencies = JobDependencies.Evaluate(job, parentId => Status(c, parentId), c.Now);
        var stored = dependencies.Stored;
        var waitingOn = dependencies.WaitingOn;
        var pendingParents = waitingOn.Count;

        // Only the columns that have a value are bound (the others are NULL by default): a plain job
        // binds 11 parameters instead of 24. Each combination's statement is built once and stays prepared.
        Span<object?> optional =
        [
            stored.Error?.Type, stored.Error?.Message, stored.Error?.StackTrace, stored.CompletedAt?.UtcTicks, stored.Title,
            Json(stored.Tags), Json(stored.DependsOn), stored.IdempotencyKey, stored.Timeout?.Ticks, stored.TraceParent,
            stored.RerunOf is { } rerunOf ? rerunOf : null, stored.BatchId is { } batchId ? batchId : null,
            stored.Retry?.Format(),
        ];
        var present = 0;
        for (var i = 0; i < optional.Length; i++)
        {
            if (optional[i] is not null)
            {
                present |= 1 << i;
            }
        }

        var insert = c.Command(InsertSql(present));
        var p = insert;
        p.Bind("$id", stored.Id);
        p.Bind("$type", stored.Type);
        p.Bind("$queue", stored.Queue);
        p.Bind("$priority", stored.Priority);
        p.Bind("$payload", stored.Payload);
        p.Bind("$status", (int)stored.Status);
        p.Bind("$max_attempts", stored.MaxAttempts);
        p.Bind("$created_at", Ticks(stored.CreatedAt));
        p.Bind("$scheduled_at", Ticks(stored.ScheduledAt));
        p.Bind("$on_parent_failure", (int)stored.OnParentFailure);
        p.Bind("$pending_parents", pendingParents);
        for (var i = 0; i < optional.Length; i++)
        {
            if (optional[i] is { } value)
            {
                p.Bind(OptionalInsertParameters[i], value);
            }
        }

        if (insert.Execute() == 0)
        {
            // Nothing was written: refusing here keeps the batch's invariant.
            throw new ArgumentException($"A job with id {job.Id} already exists.", nameof(job));
        }

        if (pendingParents > 0)
        {
            foreach (var parentId in waitingOn)
            {
                var dep = c.Command("INSERT INTO jr_deps (parent, child) VALUES ($parent, $child)");
                dep.Bind("$parent", parentId);
                dep.Bind("$child", job.Id);
                dep.Execute();
            }
        }

        var reason = JobWaitReasons.Of(stored, pendingParents > 0, c.Now);
        return new JobInsertResult(reason == JobWaitReason.None ? stored : stored with { WaitReason = reason }, Created: true);
    }

    /// <summary>The columns an insert binds only when the job has a value for them, in the bit order of <see cref="InsertSql"/>.</summary>
    private static readonly string[] OptionalInsertColumns =
        ["error_type", "error_message", "error_stack", "completed_at", "title", "tags", "depends_on", "idempotency_key", "timeout_ticks", "trace_parent", "rerun_of", "batch_id", "retry"];

    private static readonly string[] OptionalInsertParameters = [.. OptionalInsertColumns.Select(c => "$" + c)];

    private static readonly string?[] InsertStatements = new string?[1 << 13];

    /// <summary>The insert for one combination of present optional columns (a bit per <see cref="OptionalInsertColumns"/> entry), built once.</summary>
    private static string InsertSql(int present)
    {
        if (Volatile.Read(ref InsertStatements[present]) is { } built)
        {
            return built;
        }

        var columns = new List<string> { "id", "type", "queue", "priority", "payload", "status", "attempt", "max_attempts", "created_at", "scheduled_at", "on_parent_failure", "pending_parents" };
        var values = new List<string> { "$id", "$type", "$queue", "$priority", "$payload", "$status", "0", "$max_attempts", "$created_at", "$scheduled_at", "$on_parent_failure", "$pending_parents" };
        for (var i = 0; i < OptionalInsertColumns.Length; i++)
        {
            if ((present & (1 << i)) != 0)
            {
                columns.Add(OptionalInsertColumns[i]);
                values.Add(OptionalInsertParameters[i]);
            }
        }

        var sql = $"INSERT INTO jr_jobs ({string.Join(", ", columns)}) VALUES ({string.Join(", ", values)}) ON CONFLICT (id) DO NOTHING";
        Volatile.Write(ref InsertStatements[present], sql);
        return sql;
    }

    private static LeaseState Renew(WriteContext c, JobLease lease, DateTimeOffset expiresAt, JobProgress? progress)
    {
        var update = progress is null
            ? c.Command("UPDATE jr_jobs SET lease_expires = $expires WHERE id = $id AND status = 1 AND lease_token = $token RETURNING cancel_requested")
            : c.Command("""
                UPDATE jr_jobs SET lease_expires = $expires, progress_current = $current, progress_total = $total,
                    progress_message = $message, progress_stage = $stage
                WHERE id = $id AND status = 1 AND lease_token = $token RETURNING cancel_requested
                """);
        update.Bind("$expires", Ticks(expiresAt));
        update.Bind("$id", lease.JobId);
        update.Bind("$token", lease.Token);
        if (progress is not null)
        {
            AddProgress(update, progress);
        }

        return update.ScalarInt64() switch
        {
            null => LeaseState.Lost,
            0 => LeaseState.Active,
            _ => LeaseState.CancellationRequested,
        };
    }

    private static JobCancelResult Cancel(WriteContext c, JobId id)
    {
        switch (Status(c, id))
        {
            case null:
                return new JobCancelResult(JobCancelOutcome.NotFound, []);
            case JobStatus.Pending:
                var cancel = c.Command("""
                    UPDATE jr_jobs SET status = 4, completed_at = $now, pending_parents = 0,
                        error_type = $error_type, error_message = $error_message, error_stack = $error_stack
                    WHERE id = $id
                    """);
                cancel.Bind("$now", c.NowTicks);
                AddError(cancel, JobStoreErrors.CancelledBeforeRun);
                cancel.Bind("$id", id);
                cancel.Execute();
                var cancelled = new List<JobId>();
                Finish(c, id, JobStatus.Cancelled, cancelled);
                return new JobCancelResult(JobCancelOutcome.Cancelled, cancelled);
            case JobStatus.Running:
                var flag = c.Command("UPDATE jr_jobs SET cancel_requested = 1 WHERE id = $id");
                flag.Bind("$id", id);
                flag.Execute();
                return new JobCancelResult(JobCancelOutcome.Requested, []);
            default:
                return new JobCancelResult(JobCancelOutcome.AlreadyFinished, []);
        }
    }

    private static JobStatus? Status(WriteContext c, JobId id)
    {
        var command = c.Command("SELECT status FROM jr_jobs WHERE id = $id");
        command.Bind("$id", id);
        return command.ScalarInt64() is { } status ? (JobStatus)status : null;
    }

    private static void AddError(Statement command, JobError? error)
    {
        command.Bind("$error_type", error?.Type);
        command.Bind("$error_message", error?.Message);
        command.Bind("$error_stack", error?.StackTrace);
    }

    private static void AddProgress(Statement command, JobProgress progress)
    {
        command.Bind("$current", progress.Current);
        command.Bind("$total", progress.Total);
        command.Bind("$message", progress.Message);
        command.Bind("$stage", progress.Stage);
    }
}
