using System.Text.Json;
using JobRuntime.Storage;
using Npgsql;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore
{
    private const int MaxBatch = 512;

    /// <summary>
    /// The batched writes are fenced by the lease token alone: every way out of Running clears the
    /// token (a claim sets a fresh one), so a matching token means the job still runs under that
    /// lease. Adding "status = 1" let a prepared statement's generic plan, with statistics taken
    /// before the burst, scan the partial index of running jobs for every array element: once
    /// thousands of jobs were running a batch of outcomes took 28 s (auto_explain, 100,000-job burn-down).
    /// </summary>
    private const string BatchFence = "WHERE j.id = v.id AND j.lease_token = v.token";

    /// <summary>
    /// Final outcomes are written in batches: whatever is queued goes into one transaction with one
    /// fenced <c>UPDATE … FROM unnest(…)</c>; each caller's task completes after that commit.
    /// </summary>
    private WriteBatcher<PendingCompletion, JobWriteResult> Completions => Volatile.Read(ref _completionBatcher) ?? Interlocked.CompareExchange(
        ref _completionBatcher, new(CompleteBatchOrEachAsync, MaxBatch), null) ?? _completionBatcher;

    /// <summary>Writes <paramref name="completions"/> as one batch, as the batcher would (for tests).</summary>
    internal async Task<JobWriteResult[]> CompleteTogetherAsync(IReadOnlyList<(JobLease Lease, JobCompletion Completion)> completions)
        => await CompleteBatchOrEachAsync([.. completions.Select(c => new PendingCompletion(c.Lease, c.Completion))]).ConfigureAwait(false);

    /// <summary>
    /// Writes a batch of outcomes in one transaction. When the server refuses the batch for some
    /// job's data (SQLSTATE class 22 or 23), none of it was written: each outcome is written on its
    /// own, and an outcome the server still refuses is replaced by a stored error for that job
    /// alone, so that one job's outcome never costs its neighbours theirs.
    /// </summary>
    private async Task<JobWriteResult[]> CompleteBatchOrEachAsync(IReadOnlyList<PendingCompletion> batch)
    {
        try
        {
            return await InTransactionAsync("record job outcomes", tx => CompleteBatchAsync(tx, batch), CancellationToken.None).ConfigureAwait(false);
        }
        catch (PostgreSqlJobStoreException ex) when (IsDataRefusal(ex))
        {
            var results = new JobWriteResult[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                PendingCompletion[] one = [batch[i]];
                try
                {
                    results[i] = (await InTransactionAsync("record a job outcome", tx => CompleteBatchAsync(tx, one), CancellationToken.None).ConfigureAwait(false))[0];
                }
                catch (PostgreSqlJobStoreException refused) when (IsDataRefusal(refused))
                {
                    var original = batch[i].Completion;
                    var reason = ((PostgresException)refused.InnerException!).MessageText;
                    Log.OutcomeReplaced(_logger, batch[i].Lease.JobId, reason);
                    var error = new JobError(
                        OutcomeNotStored,
                        $"The job ended {original.ResultingStatus}, but the store could not hold that outcome ({reason}); this error was stored instead.");
                    PendingCompletion[] replacement = [batch[i] with { Completion = JobCompletion.Ended(JobStatus.Failed, error) }];
                    results[i] = (await InTransactionAsync("record a job outcome", tx => CompleteBatchAsync(tx, replacement), CancellationToken.None).ConfigureAwait(false))[0];
                }
            }

            return results;
        }
    }

    /// <summary>The error type stored for a job whose own outcome the server refused.</summary>
    private const string OutcomeNotStored = "OutcomeNotStored";

    /// <summary>The server refused a statement for the data in it (SQLSTATE class 22, data exception, or 23, integrity constraint violation).</summary>
    private static bool IsDataRefusal(PostgreSqlJobStoreException ex) => ex.InnerException is PostgresException { SqlState: ['2', '2' or '3', ..] };

    /// <summary>Lease renewals (with any progress) are batched the same way: one statement for all of a node's running jobs.</summary>
    private WriteBatcher<PendingRenewal, LeaseState> Renewals => Volatile.Read(ref _renewalBatcher) ?? Interlocked.CompareExchange(
        ref _renewalBatcher, new(batch => InTransactionAsync("renew leases", tx => RenewBatchAsync(tx, batch), CancellationToken.None), MaxBatch), null) ?? _renewalBatcher;

    private async Task<LeaseState[]> RenewBatchAsync(Tx tx, IReadOnlyList<PendingRenewal> batch)
    {
        int n = batch.Count;
        var ids = new Guid[n];
        var tokens = new Guid[n];
        var expires = new long[n];
        var currents = new long?[n];
        var totals = new long?[n];
        var messages = new string?[n];
        var stages = new string?[n];
        for (int i = 0; i < n; i++)
        {
            var (lease, expiresAt, progress) = batch[i];
            ids[i] = Key(lease.JobId);
            tokens[i] = lease.Token;
            expires[i] = Ticks(expiresAt);
            currents[i] = progress?.Current;
            totals[i] = progress?.Total;
            messages[i] = progress?.Message;
            stages[i] = progress?.Stage;
        }

        PostgreSqlText.CleanAll(messages);
        PostgreSqlText.CleanAll(stages);
        var answers = new Dictionary<Guid, bool>();
        await using (var update = tx.Command(
            $$"""
            UPDATE {S}.jobs j SET lease_expires = v.expires,
                progress_current = COALESCE(v.pc, j.progress_current), progress_total = COALESCE(v.pt, j.progress_total),
                progress_message = CASE WHEN v.pc IS NULL THEN j.progress_message ELSE v.pm END,
                progress_stage = CASE WHEN v.pc IS NULL THEN j.progress_stage ELSE v.ps END
            FROM unnest(@ids::uuid[], @tokens::uuid[], @expires::bigint[], @currents::bigint[], @totals::bigint[], @messages::text[], @stages::text[])
                AS v(id, token, expires, pc, pt, pm, ps)
            {{BatchFence}}
            RETURNING j.id, j.cancel_requested
            """,
            ("ids", ids), ("tokens", tokens), ("expires", expires), ("currents", currents), ("totals", totals), ("messages", messages), ("stages", stages)))
        {
            await using var reader = await update.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
            while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
            {
                answers[reader.GetGuid(0)] = reader.GetBoolean(1);
            }
        }

        var states = new LeaseState[n];
        for (int i = 0; i < n; i++)
        {
            states[i] = !answers.TryGetValue(ids[i], out var cancel) ? LeaseState.Lost : cancel ? LeaseState.CancellationRequested : LeaseState.Active;
            if (states[i] != LeaseState.Lost && batch[i].Progress is { } progress)
            {
                await NotifyProgressAsync(tx, batch[i].Lease.JobId, progress).ConfigureAwait(false);
            }
        }

        return states;
    }

    private async Task<JobWriteResult[]> CompleteBatchAsync(Tx tx, IReadOnlyList<PendingCompletion> batch)
    {
        int n = batch.Count;
        var ids = new Guid[n];
        var tokens = new Guid[n];
        var statuses = new short[n];
        var results = new string?[n];
        var artifacts = new string?[n];
        var errorTypes = new string?[n];
        var errorMessages = new string?[n];
        var errorStacks = new string?[n];
        var currents = new long?[n];
        var totals = new long?[n];
        var messages = new string?[n];
        var stages = new string?[n];
        for (int i = 0; i < n; i++)
        {
            var (lease, completion) = batch[i];
            ids[i] = Key(lease.JobId);
            tokens[i] = lease.Token;
            statuses[i] = (short)completion.ResultingStatus;
            results[i] = completion.Result;
            artifacts[i] = ArtifactsJson(completion.Artifacts);
            errorTypes[i] = completion.Error?.Type;
            errorMessages[i] = completion.Error?.Message;
            errorStacks[i] = completion.Error?.StackTrace;
            currents[i] = completion.Progress?.Current;
            totals[i] = completion.Progress?.Total;
            messages[i] = completion.Progress?.Message;
            stages[i] = completion.Progress?.Stage;
        }

        // Free text from handlers may hold what PostgreSQL cannot (NUL, lone surrogates): cleaned
        // here, or one job's exception message would fail every outcome of its batch.
        foreach (var texts in (string?[][])[results, artifacts, errorTypes, errorMessages, errorStacks, messages, stages])
        {
            PostgreSqlText.CleanAll(texts);
        }

        // Fenced like every write of a running job: a row whose lease token changed is not updated.
        // The dependents' lookup goes in the same round trip; as its own statement it reads the edges
        // committed by the time the update got its row locks (a child's insert locks its parents).
        var accepted = new HashSet<Guid>();
        var withDependents = new List<Guid>();
        await using (var statements = tx.Batch(
            (
                $$"""
                UPDATE {S}.jobs j SET status = v.status, result = v.result, artifacts = v.artifacts, completed_at = @now,
                    lease_token = NULL, lease_expires = NULL,
                    error_type = v.error_type, error_message = v.error_message, error_stack = v.error_stack,
                    attempt_errors = CASE WHEN v.error_type IS NULL THEN j.attempt_errors ELSE
                        (CASE WHEN jsonb_array_length(COALESCE(j.attempt_errors, '[]'::jsonb)) >= 50 THEN j.attempt_errors - 0 ELSE COALESCE(j.attempt_errors, '[]'::jsonb) END)
                        || jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'at', @now::bigint, 'type', v.error_type, 'message', v.error_message)) END,
                    progress_current = COALESCE(v.pc, j.progress_current), progress_total = COALESCE(v.pt, j.progress_total),
                    progress_message = CASE WHEN v.pc IS NULL THEN j.progress_message ELSE v.pm END,
                    progress_stage = CASE WHEN v.pc IS NULL THEN j.progress_stage ELSE v.ps END
                FROM unnest(@ids::uuid[], @tokens::uuid[], @statuses::smallint[], @results::text[], @artifacts::text[],
                            @error_types::text[], @error_messages::text[], @error_stacks::text[],
                            @currents::bigint[], @totals::bigint[], @messages::text[], @stages::text[])
                    AS v(id, token, status, result, artifacts, error_type, error_message, error_stack, pc, pt, pm, ps)
                {{BatchFence}}
                RETURNING j.id
                """,
                [
                    ("now", tx.NowTicks), ("ids", ids), ("tokens", tokens), ("statuses", statuses), ("results", results), ("artifacts", artifacts),
                    ("error_types", errorTypes), ("error_messages", errorMessages), ("error_stacks", errorStacks),
                    ("currents", currents), ("totals", totals), ("messages", messages), ("stages", stages),
                ]),
            ("SELECT DISTINCT parent FROM {S}.deps WHERE parent = ANY(@ids)", [("ids", ids)])))
        {
            await using var reader = await statements.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
            while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
            {
                accepted.Add(reader.GetGuid(0));
            }

            await reader.NextResultAsync(tx.Token).ConfigureAwait(false);
            while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
            {
                withDependents.Add(reader.GetGuid(0));
            }
        }

        // Dependents: most jobs have none.
        var cancelledBy = new Dictionary<Guid, List<JobId>>();
        if (accepted.Count > 0)
        {
            var parents = withDependents.Where(accepted.Contains);
            foreach (var parent in parents)
            {
                var item = batch.First(b => Key(b.Lease.JobId) == parent);
                var cancelled = new List<JobId>();
                await FinishAsync(tx, item.Lease.JobId, item.Completion.ResultingStatus, cancelled).ConfigureAwait(false);
                cancelledBy[parent] = cancelled;
            }

            await NotifyStatusAsync(tx, accepted.Select(id => new JobId(id)).Concat(cancelledBy.Values.SelectMany(c => c))).ConfigureAwait(false);
        }

        var outcome = new JobWriteResult[n];
        for (int i = 0; i < n; i++)
        {
            outcome[i] = accepted.Contains(ids[i])
                ? new JobWriteResult(true, cancelledBy.TryGetValue(ids[i], out var c) ? c : [])
                : JobWriteResult.Rejected;
        }

        return outcome;
    }

    private sealed record PendingCompletion(JobLease Lease, JobCompletion Completion);

    private sealed record PendingRenewal(JobLease Lease, DateTimeOffset ExpiresAt, JobProgress? Progress);
}
