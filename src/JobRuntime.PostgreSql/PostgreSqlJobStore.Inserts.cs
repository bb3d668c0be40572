using System.Text.Json;
using JobRuntime.Storage;
using Npgsql;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore
{
    /// <summary>
    /// New jobs without parents (most jobs) are inserted in batches:
    /// whatever is queued goes into one <c>INSERT … SELECT FROM unnest(…)</c> that commits by
    /// itself, one round trip and one commit for many submits instead of a transaction each. A
    /// batch the server refuses for its data is stored again one job at a time, so that only the
    /// offending job fails.
    /// </summary>
    private WriteBatcher<PendingInsert, InsertOutcome> Inserts => Volatile.Read(ref _insertBatcher) ?? Interlocked.CompareExchange(
        ref _insertBatcher, new(InsertBatchAsync, MaxBatch), null) ?? _insertBatcher;

    /// <summary>Whether a new job can go into a batched insert: no parent to lock and link (nor an outcome already).</summary>
    private static bool GoesInBatch(JobSnapshot job) => job.DependsOn.Count == 0 && job.Error is null && job.CompletedAt is null && job.CacheResultFor is null;

    /// <summary>Inserts <paramref name="jobs"/> as one batch, as the batcher would (for tests).</summary>
    internal async Task<IReadOnlyList<(JobInsertResult? Result, Exception? Error)>> InsertTogetherAsync(IReadOnlyList<JobSnapshot> jobs)
    {
        await InitializeAsync(CancellationToken.None).ConfigureAwait(false);
        var outcomes = await InsertBatchAsync([.. jobs.Select(job => new PendingInsert(job, CancellationToken.None))]).ConfigureAwait(false);
        return [.. outcomes.Select(o => (o.Result, o.Error))];
    }

    private async Task<InsertOutcome[]> InsertBatchAsync(IReadOnlyList<PendingInsert> batch)
    {
        // A caller that gave up before its batch ran is not stored.
        var live = new List<int>(batch.Count);
        var outcomes = new InsertOutcome[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].Token.IsCancellationRequested)
            {
                outcomes[i] = new InsertOutcome(null, new OperationCanceledException(batch[i].Token));
            }
            else
            {
                live.Add(i);
            }
        }

        if (live.Count == 0)
        {
            return outcomes;
        }

        var jobs = live.ConvertAll(i => batch[i].Job);
        try
        {
            var stored = await OnConnectionAsync("store jobs", tx => InsertUnnestAsync(tx, jobs), transactional: false, CancellationToken.None).ConfigureAwait(false);
            for (var k = 0; k < live.Count; k++)
            {
                outcomes[live[k]] = stored[k];
            }
        }
        catch (PostgreSqlJobStoreException ex) when (IsConnectionLoss(ex.InnerException))
        {
            // The batch may or may not have committed before the connection went.
            var settled = await SettleAfterConnectionLossAsync(jobs, ex).ConfigureAwait(false);

            // Jobs known not to be stored get one more try on a fresh connection (the pool was
            // cleared): a pooled connection the server had ended should not cost a submit.
            var retry = Enumerable.Range(0, live.Count).Where(k => ReferenceEquals(settled[k].Error, ex)).ToList();
            if (retry.Count > 0)
            {
                var again = retry.ConvertAll(k => jobs[k]);
                InsertOutcome[] second;
                try
                {
                    second = await OnConnectionAsync("store jobs", tx => InsertUnnestAsync(tx, again), transactional: false, CancellationToken.None).ConfigureAwait(false);
                }
                catch (PostgreSqlJobStoreException secondError) when (IsConnectionLoss(secondError.InnerException))
                {
                    second = await SettleAfterConnectionLossAsync(again, secondError).ConfigureAwait(false);
                }
                catch (PostgreSqlJobStoreException secondError)
                {
                    second = [.. again.Select(_ => new InsertOutcome(null, secondError))];
                }

                for (var r = 0; r < retry.Count; r++)
                {
                    settled[retry[r]] = second[r];
                }
            }

            for (var k = 0; k < live.Count; k++)
            {
                outcomes[live[k]] = settled[k];
            }
        }
        catch (PostgreSqlJobStoreException ex) when (live.Count > 1 && IsDataRefusal(ex))
        {
            // The server refused some job's data (SQLSTATE class 22 or 23): the statement stored
            // none of them. One at a time, each job gets its own answer.
            foreach (var i in live)
            {
                try
                {
                    outcomes[i] = new InsertOutcome(await InsertOneAsync(batch[i].Job, batch[i].Token).ConfigureAwait(false), null);
                }
                catch (Exception single)
                {
                    outcomes[i] = new InsertOutcome(null, single);
                }
            }
        }

        return outcomes;
    }

    /// <summary>
    /// Answers each job of a write whose connection was lost. When the server ended the session
    /// (57P01–57P03) its transaction is over, committed or not, and a read on a fresh connection
    /// tells which: a stored job is acknowledged, one not stored gets the error (nothing stored).
    /// A broken socket leaves the server's side unknown (it may still commit), and so does a read
    /// that fails too: those jobs get <see cref="JobSubmitOutcomeUnknownException"/> with their ids.
    /// </summary>
    /// <summary>The waits between the reads that settle a lost write: 100, 200, 400, 800 ms (the runtime's one back-off formula, no jitter).</summary>
    private static readonly JobRetryPolicy SettleBackoff = new() { Delay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1), Jitter = 0 };

    private async Task<InsertOutcome[]> SettleAfterConnectionLossAsync(IReadOnlyList<JobSnapshot> jobs, PostgreSqlJobStoreException error)
    {
        var outcomes = new InsertOutcome[jobs.Count];
        // A few tries over ~1.5 s: a server that ended every session (a restart) takes a moment to serve again.
        for (var attempt = 0; error.InnerException is PostgresException && attempt < 5; attempt++)
        {
            try
            {
                if (attempt > 0)
                {
                    await Task.Delay(SettleBackoff.DelayAfter(attempt), _time).ConfigureAwait(false);
                }

                var ids = jobs.Select(j => Key(j.Id)).ToArray();
                var found = (await ReadAsync("check which jobs were stored", tx => tx.JobsAsync($"SELECT {Columns} FROM {{S}}.jobs WHERE id = ANY(@ids)", ("ids", ids)), CancellationToken.None).ConfigureAwait(false))
                    .ToDictionary(j => j.Id);
                for (var i = 0; i < jobs.Count; i++)
                {
                    outcomes[i] = found.TryGetValue(jobs[i].Id, out var stored) && stored.CreatedAt == jobs[i].CreatedAt && stored.Payload == jobs[i].Payload
                        ? new InsertOutcome(new JobInsertResult(stored, Created: true), null)
                        : new InsertOutcome(null, error);
                }

                return outcomes;
            }
            catch (PostgreSqlJobStoreException)
            {
                // Still unreachable: try again, then unknown, below.
            }
        }

        for (var i = 0; i < jobs.Count; i++)
        {
            outcomes[i] = new InsertOutcome(null, new JobSubmitOutcomeUnknownException(jobs[i].Id, error));
        }

        return outcomes;
    }

    private async Task<InsertOutcome[]> InsertUnnestAsync(Tx tx, IReadOnlyList<JobSnapshot> jobs)
    {
        var n = jobs.Count;
        var ids = new Guid[n];
        var types = new string[n];
        var queues = new string[n];
        var priorities = new int[n];
        var payloads = new string[n];
        var maxAttempts = new int[n];
        var created = new long[n];
        var scheduled = new long[n];
        var titles = new string?[n];
        var onParentFailure = new short[n];
        var timeouts = new long?[n];
        var traces = new string?[n];
        var reruns = new Guid?[n];
        var keys = new string?[n];
        var batches = new Guid?[n];
        var retries = new string?[n];

        // Each job's tags as a JSON array: unnest cannot take arrays of different lengths.
        var tags = new string?[n];
        for (var i = 0; i < n; i++)
        {
            var job = jobs[i];
            ids[i] = Key(job.Id);
            types[i] = job.Type;
            queues[i] = job.Queue;
            priorities[i] = job.Priority;
            payloads[i] = job.Payload;
            maxAttempts[i] = job.MaxAttempts;
            created[i] = Ticks(job.CreatedAt);
            scheduled[i] = Ticks(job.ScheduledAt);
            titles[i] = job.Title;
            onParentFailure[i] = (short)job.OnParentFailure;
            timeouts[i] = job.Timeout?.Ticks;
            traces[i] = job.TraceParent;
            reruns[i] = job.RerunOf is { } r ? Key(r) : null;
            keys[i] = job.IdempotencyKey;
            batches[i] = job.BatchId is { } b ? Key(b) : null;
            retries[i] = job.Retry?.Format();
            tags[i] = job.Tags.Count == 0 ? null : JsonSerializer.Serialize(job.Tags, PostgreSqlJsonContext.Default.IReadOnlyListString);
        }

        // The notices go in the same round trip as the insert: a batch of statements without an
        // explicit transaction runs in one implicit transaction, so the jobs and their notices commit
        // together or not at all (a notice failing on its own after the insert had committed made a
        // stored job's submit throw). A notice for a job the insert refused only wakes a poll.
        var notices = JobsAvailablePayloads(jobs.Select(j => j.Queue));
        var inserted = new HashSet<Guid>();
        await using (var insert = tx.Batch(
            ("""
            INSERT INTO {S}.jobs (id, type, queue, priority, payload, status, attempt, max_attempts, created_at, scheduled_at,
                title, tags, on_parent_failure, idempotency_key, timeout_ticks, trace_parent, rerun_of, pending_parents, batch_id, retry)
            SELECT v.id, v.type, v.queue, v.priority, v.payload, 0, 0, v.max_attempts, v.created_at, v.scheduled_at,
                v.title, CASE WHEN v.tags IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(v.tags::jsonb)) END,
                v.on_parent_failure, v.key, v.timeout, v.trace, v.rerun_of, 0, v.batch_id, v.retry
            FROM unnest(@ids::uuid[], @types::text[], @queues::text[], @priorities::integer[], @payloads::text[], @max_attempts::integer[],
                @created::bigint[], @scheduled::bigint[], @titles::text[], @tags::text[], @on_parent_failure::smallint[], @keys::text[],
                @timeouts::bigint[], @traces::text[], @reruns::uuid[], @batches::uuid[], @retries::text[])
                AS v(id, type, queue, priority, payload, max_attempts, created_at, scheduled_at, title, tags, on_parent_failure, key,
                    timeout, trace, rerun_of, batch_id, retry)
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            [
                ("ids", ids), ("types", types), ("queues", queues), ("priorities", priorities), ("payloads", payloads), ("max_attempts", maxAttempts),
                ("created", created), ("scheduled", scheduled), ("titles", titles), ("tags", tags), ("on_parent_failure", onParentFailure),
                ("keys", keys), ("timeouts", timeouts), ("traces", traces), ("reruns", reruns), ("batches", batches), ("retries", retries),
            ]),
            (NotifyManySql, [("channel", Channel), ("payloads", notices)])))
        {
            await using var reader = await insert.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
            while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
            {
                inserted.Add(reader.GetGuid(0));
            }

            await reader.NextResultAsync(tx.Token).ConfigureAwait(false);
        }

        // A job not inserted with an idempotency key met a live job with that key (insert-on-conflict
        // against the partial unique index, never a read-then-write): it gets that job, as a single insert would.
        var holders = new Dictionary<string, JobSnapshot>(StringComparer.Ordinal);
        var refusedKeys = Enumerable.Range(0, n).Where(i => keys[i] is not null && !inserted.Contains(ids[i])).Select(i => keys[i]!).Distinct().ToArray();
        if (refusedKeys.Length > 0)
        {
            foreach (var holder in await tx.JobsAsync($"SELECT {Columns} FROM {{S}}.jobs WHERE idempotency_key = ANY(@keys) AND status IN (0, 1)", ("keys", refusedKeys)).ConfigureAwait(false))
            {
                holders[holder.IdempotencyKey!] = holder;
            }
        }

        var now = _time.GetUtcNow();
        var outcomes = new InsertOutcome[n];
        for (var i = 0; i < n; i++)
        {
            var job = jobs[i];

            // Removing the id answers a second job with the same id in this batch as a duplicate.
            if (inserted.Remove(ids[i]))
            {
                var waitReason = JobWaitReasons.Of(job, waitingForParents: false, now);
                outcomes[i] = new InsertOutcome(new JobInsertResult(job.WaitReason == waitReason ? job : job with { WaitReason = waitReason }, Created: true), null);
            }
            else if (job.IdempotencyKey is { } key && holders.TryGetValue(key, out var holder))
            {
                outcomes[i] = new InsertOutcome(new JobInsertResult(holder, Created: false), null);
            }
            else
            {
                outcomes[i] = new InsertOutcome(null, new ArgumentException($"A job with id {job.Id} already exists.", "job"));
            }
        }

        return outcomes;
    }

    /// <summary>A new job waiting for its batch, with its caller's token.</summary>
    private sealed record PendingInsert(JobSnapshot Job, CancellationToken Token);

    /// <summary>A batched insert's answer for one job: its result, or the exception its caller gets.</summary>
    private readonly record struct InsertOutcome(JobInsertResult? Result, Exception? Error)
    {
        /// <summary>The error, thrown with its original stack trace.</summary>
        public Exception Rethrow()
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(Error!);
            return Error!;
        }
    }

    private static async Task<JobInsertResult> InsertCoreAsync(Tx tx, JobSnapshot job)
    {
        if (JobResultCache.Since(job, tx.Now) is { } since)
        {
            // A live job with the key wins, as for any keyed submit; else a recent result is reused.
            var live = (await tx.JobsAsync($"SELECT {Columns} FROM {{S}}.jobs WHERE idempotency_key = @key AND status IN (0, 1)", ("key", job.IdempotencyKey)).ConfigureAwait(false)).FirstOrDefault();
            if (live is not null)
            {
                return new JobInsertResult(live, Created: false);
            }

            var from = (await tx.JobsAsync(
                $"SELECT {Columns} FROM {{S}}.jobs WHERE idempotency_key = @key AND status = 2 AND cached_from IS NULL AND type = @type AND completed_at >= @since ORDER BY completed_at DESC LIMIT 1",
                ("key", job.IdempotencyKey), ("type", job.Type), ("since", Ticks(since))).ConfigureAwait(false)).FirstOrDefault();
            if (from is not null)
            {
                // Stored as a new job, then completed with the reused result in the same transaction.
                var fresh = await InsertCoreAsync(tx, job with { DependsOn = [], CacheResultFor = null }).ConfigureAwait(false);
                if (!fresh.Created)
                {
                    return fresh;
                }

                var served = JobResultCache.Served(job, from, tx.Now);
                await tx.ExecuteAsync(
                    """
                    UPDATE {S}.jobs SET status = 2, result = @result::text, completed_at = @now, cached_from = @from,
                        progress_current = @current::bigint, progress_total = @total::bigint, progress_message = @message::text, progress_stage = @stage::text
                    WHERE id = @id
                    """,
                    [("result", served.Result), ("now", tx.NowTicks), ("from", Key(from.Id)), .. ProgressParameters(served.Progress), ("id", Key(job.Id))]).ConfigureAwait(false);
                return new JobInsertResult(served, Created: true);
            }
        }

        // Lock the parents (FOR SHARE) so none finishes between reading its status and recording the edge.
        var statuses = new Dictionary<Guid, JobStatus>();
        var parents = job.DependsOn.Distinct().ToArray();
        if (parents.Length > 0)
        {
            await using var read = tx.Command("SELECT id, status FROM {S}.jobs WHERE id = ANY(@ids) FOR SHARE", ("ids", parents.Select(Key).ToArray()));
            await using var reader = await read.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
            while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
            {
                statuses[reader.GetGuid(0)] = (JobStatus)reader.GetInt16(1);
            }
        }

        var dependencies = JobDependencies.Evaluate(job, id => statuses.TryGetValue(Key(id), out var status) ? status : null, tx.Now);
        var stored = dependencies.Stored;
        var waitingOn = dependencies.WaitingOn;
        var pendingParents = waitingOn.Count;

        // Insert-on-conflict: the partial unique index on live idempotency keys decides, never a read-then-write.
        var inserted = await tx.ScalarAsync(
            """
            INSERT INTO {S}.jobs (id, type, queue, priority, payload, status, error_type, error_message, error_stack,
                attempt, max_attempts, created_at, scheduled_at, completed_at, title, tags, depends_on, on_parent_failure,
                idempotency_key, timeout_ticks, trace_parent, rerun_of, pending_parents, batch_id, retry)
            VALUES (@id, @type, @queue, @priority, @payload, @status, @error_type::text, @error_message::text, @error_stack::text,
                0, @max_attempts, @created_at, @scheduled_at, @completed_at::bigint, @title::text, @tags::text[], @depends_on::uuid[], @on_parent_failure,
                @key::text, @timeout::bigint, @trace::text, @rerun_of::uuid, @pending_parents, @batch_id::uuid, @retry::text)
            ON CONFLICT DO NOTHING
            RETURNING 1
            """,
            [
                ("id", Key(stored.Id)), ("type", stored.Type), ("queue", stored.Queue), ("priority", stored.Priority), ("payload", stored.Payload),
                ("status", (short)stored.Status), .. ErrorParameters(stored.Error), ("max_attempts", stored.MaxAttempts),
                ("created_at", Ticks(stored.CreatedAt)), ("scheduled_at", Ticks(stored.ScheduledAt)), ("completed_at", stored.CompletedAt?.UtcTicks),
                ("title", stored.Title), ("tags", stored.Tags.Count == 0 ? null : stored.Tags.ToArray()),
                ("depends_on", stored.DependsOn.Count == 0 ? null : stored.DependsOn.Select(Key).ToArray()),
                ("on_parent_failure", (short)stored.OnParentFailure), ("key", stored.IdempotencyKey), ("timeout", stored.Timeout?.Ticks),
                ("trace", stored.TraceParent), ("rerun_of", stored.RerunOf is { } r ? Key(r) : null), ("pending_parents", pendingParents),
                ("batch_id", stored.BatchId is { } b ? Key(b) : null), ("retry", stored.Retry?.Format()),
            ]).ConfigureAwait(false);
        if (inserted is null)
        {
            if (stored.IdempotencyKey is { } key
                && (await tx.JobsAsync($"SELECT {Columns} FROM {{S}}.jobs WHERE idempotency_key = @key AND status IN (0, 1)", ("key", key)).ConfigureAwait(false)).FirstOrDefault() is { } existing)
            {
                return new JobInsertResult(existing, Created: false);
            }

            throw new ArgumentException($"A job with id {job.Id} already exists.", nameof(job));
        }

        if (waitingOn.Count > 0)
        {
            // One statement for every edge (a batch's head waits for thousands of members).
            await tx.ExecuteAsync(
                "INSERT INTO {S}.deps (parent, child) SELECT p, @child FROM unnest(@parents::uuid[]) AS p ON CONFLICT DO NOTHING",
                ("parents", waitingOn.Select(Key).ToArray()), ("child", Key(job.Id))).ConfigureAwait(false);
        }

        return new JobInsertResult(stored with { WaitReason = JobWaitReasons.Of(stored, pendingParents > 0, tx.Now) }, Created: true);
    }
}
