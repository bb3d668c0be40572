using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

// How a running attempt's outcome is written: the fenced endings, retries and releases.
internal sealed partial class SqliteJobStore
{
    /// <summary>Every ending below is fenced by the lease token; no row changed means the lease was lost.</summary>
    private const string Fence = "WHERE id = $id AND status = 1 AND lease_token = $token";

    /// <summary>The attempt's last progress, when the completion carries one ($current NULL keeps the stored one).</summary>
    private const string ProgressUpdate = """
        progress_current = COALESCE($current, progress_current), progress_total = COALESCE($total, progress_total),
        progress_message = CASE WHEN $current IS NULL THEN progress_message ELSE $message END,
        progress_stage = CASE WHEN $current IS NULL THEN progress_stage ELSE $stage END
        """;

    /// <summary>
    /// The attempt's error ($error_type, $error_message, at $now) added to the job's history, the oldest
    /// dropped beyond <see cref="JobAttemptHistory.MaxKept"/> (50); nothing when there is no error.
    /// </summary>
    private const string HistoryAppend = """
        attempt_errors = CASE WHEN $error_type IS NULL THEN attempt_errors ELSE json_insert(
            CASE WHEN json_array_length(COALESCE(attempt_errors, '[]')) >= 50 THEN json_remove(attempt_errors, '$[0]') ELSE COALESCE(attempt_errors, '[]') END,
            '$[#]', json_object('attempt', attempt, 'at', $now, 'type', $error_type, 'message', $error_message)) END
        """;

    private const string ErrorUpdate = $"error_type = $error_type, error_message = $error_message, error_stack = $error_stack, {HistoryAppend}";

    private const string EndUpdate = "UPDATE jr_jobs SET status = $status, result = $result, completed_at = $now, lease_token = NULL, lease_expires = NULL";

    /// <summary>A final outcome with an error or artifacts to store.</summary>
    private const string EndWithDetails = $"{EndUpdate}, artifacts = $artifacts, {ErrorUpdate}, {ProgressUpdate} {Fence}";

    /// <summary>The common ending, with neither: the same update with 9 parameters instead of 13.</summary>
    private const string EndPlain = $"{EndUpdate}, artifacts = NULL, error_type = NULL, error_message = NULL, error_stack = NULL, {ProgressUpdate} {Fence}";

    private static JobWriteResult Complete(WriteContext c, JobLease lease, JobCompletion completion)
    {
        Statement update;
        switch (completion.Kind)
        {
            case JobCompletionKind.Retry:
                update = c.Command($"UPDATE jr_jobs SET status = 0, scheduled_at = $at, owner = NULL, lease_token = NULL, lease_expires = NULL, {ErrorUpdate}, {ProgressUpdate} {Fence}");
                update.Bind("$at", Ticks(completion.RetryAt ?? c.Now));
                update.Bind("$now", c.NowTicks);
                AddError(update, completion.Error);
                break;
            case JobCompletionKind.Release:
                update = c.Command($"UPDATE jr_jobs SET status = 0, attempt = MAX(0, attempt - 1), scheduled_at = COALESCE($at, scheduled_at), owner = NULL, lease_token = NULL, lease_expires = NULL {Fence}");
                if (completion.RetryAt is { } runAt)
                {
                    // Unbound, $at is NULL: the job keeps its run time.
                    update.Bind("$at", Ticks(runAt));
                }
                break;
            default:
                var details = completion.Error is not null || completion.Artifacts.Count > 0;
                update = c.Command(details ? EndWithDetails : EndPlain);
                update.Bind("$status", (int)completion.ResultingStatus);
                update.Bind("$result", completion.Result);
                update.Bind("$now", c.NowTicks);
                if (details)
                {
                    update.Bind("$artifacts", ArtifactsJson(completion.Artifacts));
                    AddError(update, completion.Error);
                }

                break;
        }

        // Without a progress the $current…$stage parameters stay NULL (Reuse clears every binding): the stored one is kept.
        if (completion.Kind != JobCompletionKind.Release && completion.Progress is { } progress)
        {
            AddProgress(update, progress);
        }

        update.Bind("$id", lease.JobId);
        update.Bind("$token", lease.Token);
        if (update.Execute() == 0)
        {
            return JobWriteResult.Rejected;
        }

        if (completion.Kind is JobCompletionKind.Retry or JobCompletionKind.Release)
        {
            return new JobWriteResult(true, []);
        }

        var cancelled = new List<JobId>();
        Finish(c, lease.JobId, completion.ResultingStatus, cancelled);
        return new JobWriteResult(true, cancelled);
    }
}
