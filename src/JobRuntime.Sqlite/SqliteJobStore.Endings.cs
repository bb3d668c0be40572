using JobRuntime.Storage;

namespace JobRuntime.Sqlite;

// How jobs end outside a worker's own outcome: recovery of expired leases, and the dependents a finished job releases or cancels.
internal sealed partial class SqliteJobStore
{
    private static RecoveryResult Recover(WriteContext c, Func<JobSnapshot, TimeSpan> retryDelay)
    {
        var expired = c.Command($"SELECT {Columns} FROM jr_jobs WHERE status = 1 AND lease_expires <= $now");
        expired.Bind("$now", c.NowTicks);
        var jobs = ReadJobs(expired, c.Now);
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
                recovered.Add(EndExpired(c, job, JobStatus.Cancelled, JobStoreErrors.CancelledWorkerStopped(job), cancelled));
            }
            else if (job.Attempt < job.MaxAttempts)
            {
                var at = c.Now + retryDelay(job);
                var retry = c.Command($"UPDATE jr_jobs SET status = 0, scheduled_at = $at, owner = NULL, lease_token = NULL, lease_expires = NULL, {ErrorUpdate} WHERE id = $id");
                retry.Bind("$at", Ticks(at));
                retry.Bind("$now", c.NowTicks);
                AddError(retry, error);
                retry.Bind("$id", job.Id);
                retry.Execute();
                var pending = job with { Status = JobStatus.Pending, ScheduledAt = at, Owner = null, Error = error, AttemptErrors = JobAttemptHistory.Append(job.AttemptErrors, job.Attempt, c.Now, error) };
                recovered.Add(pending with { WaitReason = JobWaitReasons.Of(pending, waitingForParents: false, c.Now) });
            }
            else
            {
                recovered.Add(EndExpired(c, job, JobStatus.Failed, error, cancelled));
            }
        }

        return new RecoveryResult(recovered, cancelled);
    }

    /// <summary>Ends a job whose lease expired with <paramref name="status"/> and <paramref name="error"/>, and settles its dependents.</summary>
    private static JobSnapshot EndExpired(WriteContext c, JobSnapshot job, JobStatus status, JobError error, List<JobId> cancelled)
    {
        var end = c.Command($"UPDATE jr_jobs SET status = $status, completed_at = $now, lease_token = NULL, lease_expires = NULL, {ErrorUpdate} WHERE id = $id");
        end.Bind("$status", (int)status);
        end.Bind("$now", c.NowTicks);
        AddError(end, error);
        end.Bind("$id", job.Id);
        end.Execute();
        Finish(c, job.Id, status, cancelled);
        return job with { Status = status, CompletedAt = c.Now, Error = error, AttemptErrors = JobAttemptHistory.Append(job.AttemptErrors, job.Attempt, c.Now, error) };
    }

    // A job became terminal: release or cancel its dependents (transitively).
    private static void Finish(WriteContext c, JobId id, JobStatus status, List<JobId> cancelled)
    {
        var stack = new Stack<(JobId Id, JobStatus Status)>();
        stack.Push((id, status));
        while (stack.TryPop(out var finished))
        {
            // Removing the parent's edges returns its dependents; most jobs have none, so this is one statement.
            var edges = c.Command("DELETE FROM jr_deps WHERE parent = $parent RETURNING child");
            edges.Bind("$parent", finished.Id);
            var childIds = edges.Rows(static row => row.Id(0));

            var list = new List<(JobId Id, DependencyFailureBehavior Behavior)>(childIds.Count);
            foreach (var childId in childIds)
            {
                var child = c.Command("SELECT on_parent_failure FROM jr_jobs WHERE id = $id AND status = 0");
                child.Bind("$id", childId);
                if (child.ScalarInt64() is { } behavior)
                {
                    list.Add((childId, (DependencyFailureBehavior)behavior));
                }
            }

            foreach (var (childId, behavior) in list)
            {
                if (finished.Status != JobStatus.Completed && behavior == DependencyFailureBehavior.Cancel)
                {
                    var error = JobStoreErrors.ParentFailed(finished.Id, finished.Status);
                    var cancel = c.Command("""
                        UPDATE jr_jobs SET status = 4, completed_at = $now, pending_parents = 0,
                            error_type = $error_type, error_message = $error_message, error_stack = NULL
                        WHERE id = $id
                        """);
                    cancel.Bind("$now", c.NowTicks);
                    cancel.Bind("$error_type", error.Type);
                    cancel.Bind("$error_message", error.Message);
                    cancel.Bind("$id", childId);
                    cancel.Execute();
                    cancelled.Add(childId);
                    stack.Push((childId, JobStatus.Cancelled));
                }
                else
                {
                    var release = c.Command("UPDATE jr_jobs SET pending_parents = MAX(0, pending_parents - 1) WHERE id = $id");
                    release.Bind("$id", childId);
                    release.Execute();
                }
            }
        }
    }
}
