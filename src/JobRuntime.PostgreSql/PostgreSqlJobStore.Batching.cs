using System.Threading.Channels;
using JobRuntime.Storage;

namespace JobRuntime.PostgreSql;

public sealed partial class PostgreSqlJobStore
{
    private const int MaxBatch = 512;
    private readonly Channel<PendingCompletion> _completions = System.Threading.Channels.Channel.CreateUnbounded<PendingCompletion>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _completerGate = new();
    private Task? _completer;

    /// <summary>
    /// Final outcomes are written in batches: whatever is queued goes into one transaction with one
    /// fenced <c>UPDATE … FROM unnest(…)</c>; each caller's task completes after that commit.
    /// </summary>
    private Task<JobWriteResult> EnqueueCompletion(JobLease lease, JobCompletion completion)
    {
        var pending = new PendingCompletion(lease, completion, new TaskCompletionSource<JobWriteResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_completer is null)
        {
            lock (_completerGate)
            {
                _completer ??= Task.Run(CompleteLoopAsync);
            }
        }

        if (!_completions.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(PostgreSqlJobStore));
        }

        return pending.Done.Task;
    }

    private async Task CompleteLoopAsync()
    {
        var reader = _completions.Reader;
        var batch = new List<PendingCompletion>(MaxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                var results = await InTransactionAsync("record job outcomes", tx => CompleteBatchAsync(tx, batch), CancellationToken.None).ConfigureAwait(false);
                for (int i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var item in batch)
                {
                    item.Done.TrySetException(ex);
                }
            }
        }
    }

    private async Task<JobWriteResult[]> CompleteBatchAsync(Tx tx, List<PendingCompletion> batch)
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
            var (lease, completion, _) = batch[i];
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

        // Fenced like every write of a running job: a row whose lease token changed is not updated.
        var accepted = new HashSet<Guid>();
        await using (var update = tx.Command(
            """
            UPDATE {S}.jobs j SET status = v.status, result = v.result, artifacts = v.artifacts, completed_at = @now,
                lease_token = NULL, lease_expires = NULL,
                error_type = v.error_type, error_message = v.error_message, error_stack = v.error_stack,
                progress_current = COALESCE(v.pc, j.progress_current), progress_total = COALESCE(v.pt, j.progress_total),
                progress_message = CASE WHEN v.pc IS NULL THEN j.progress_message ELSE v.pm END,
                progress_stage = CASE WHEN v.pc IS NULL THEN j.progress_stage ELSE v.ps END
            FROM unnest(@ids::uuid[], @tokens::uuid[], @statuses::smallint[], @results::text[], @artifacts::text[],
                        @error_types::text[], @error_messages::text[], @error_stacks::text[],
                        @currents::bigint[], @totals::bigint[], @messages::text[], @stages::text[])
                AS v(id, token, status, result, artifacts, error_type, error_message, error_stack, pc, pt, pm, ps)
            WHERE j.id = v.id AND j.status = 1 AND j.lease_token = v.token
            RETURNING j.id
            """,
            ("now", tx.NowTicks), ("ids", ids), ("tokens", tokens), ("statuses", statuses), ("results", results), ("artifacts", artifacts),
            ("error_types", errorTypes), ("error_messages", errorMessages), ("error_stacks", errorStacks),
            ("currents", currents), ("totals", totals), ("messages", messages), ("stages", stages)))
        {
            await using var reader = await update.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
            while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
            {
                accepted.Add(reader.GetGuid(0));
            }
        }

        // Dependents: one query for the whole batch; most jobs have none.
        var cancelledBy = new Dictionary<Guid, List<JobId>>();
        if (accepted.Count > 0)
        {
            var parents = new List<Guid>();
            await using (var find = tx.Command("SELECT DISTINCT parent FROM {S}.deps WHERE parent = ANY(@ids)", ("ids", accepted.ToArray())))
            {
                await using var reader = await find.ExecuteReaderAsync(tx.Token).ConfigureAwait(false);
                while (await reader.ReadAsync(tx.Token).ConfigureAwait(false))
                {
                    parents.Add(reader.GetGuid(0));
                }
            }

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

    private sealed record PendingCompletion(JobLease Lease, JobCompletion Completion, TaskCompletionSource<JobWriteResult> Done);
}
