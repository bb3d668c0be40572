using JobRuntime.Storage;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore
{
    private static ClaimResult Claim(WriteContext c, ClaimRequest request)
    {
        var expires = c.Now + request.LeaseDuration;

        // One token per claim: it differs from every earlier claim of these jobs, which is all fencing needs.
        var token = Guid.NewGuid();
        List<JobSnapshot> claimed;
        if (request.Queues is null && request.QueueLimits is null)
        {
            // INDEXED BY: without statistics the planner prefers the listing index and sorts every pending row.
            var claim = c.Command($"""
                UPDATE jr_jobs SET status = 1, attempt = attempt + 1, started_at = $now, owner = $owner,
                    lease_token = $token, lease_expires = $expires, cancel_requested = 0
                WHERE id IN (SELECT id FROM jr_jobs INDEXED BY jr_jobs_ready WHERE {Ready} AND scheduled_at <= $now
                             ORDER BY priority DESC, scheduled_at, id LIMIT $limit)
                RETURNING {Columns}
                """);
            claim.Bind("$now", c.NowTicks);
            claim.Bind("$owner", request.Owner);
            claim.Bind("$token", token);
            claim.Bind("$expires", Ticks(expires));
            claim.Bind("$limit", request.MaxCount);
            claimed = ReadJobs(claim, c.Now);
            claimed.Sort(QueueOrder);
        }
        else
        {
            claimed = ClaimFiltered(c, request, token, expires);
        }

        DateTimeOffset? next = null;
        if (claimed.Count < request.MaxCount)
        {
            // Only delayed jobs are indexed here: one due at its creation is claimable at once (another
            // process's clock running ahead is caught by the next poll).
            var due = c.Command($"SELECT MIN(scheduled_at) FROM jr_jobs INDEXED BY jr_jobs_delayed WHERE {Ready} AND scheduled_at > created_at AND scheduled_at > $now");
            due.Bind("$now", c.NowTicks);
            next = due.ScalarInt64() is { } ticks ? Time(ticks) : null;
        }

        return new ClaimResult(claimed.ConvertAll(job => new ClaimedJob(job, new JobLease(job.Id, request.Owner, token, expires))), next);
    }

    /// <summary>The order jobs are claimed in: higher priority first, then earlier run time, then id.</summary>
    private static readonly Comparison<JobSnapshot> QueueOrder = static (x, y) => x.Priority != y.Priority ? y.Priority.CompareTo(x.Priority)
        : x.ScheduledAt != y.ScheduledAt ? x.ScheduledAt.CompareTo(y.ScheduledAt)
        : x.Id.CompareTo(y.Id);

    /// <summary>
    /// The queues that have ready jobs, found by seeking the per-queue index once per queue (a loose
    /// index scan: each step asks for the first queue after the last one) rather than reading every job.
    /// </summary>
    private static List<string> ReadyQueues(WriteContext c)
    {
        var queues = c.Command($"""
            WITH RECURSIVE q(name) AS (
                SELECT (SELECT MIN(queue) FROM jr_jobs INDEXED BY jr_jobs_ready_queue WHERE {Ready})
                UNION ALL
                SELECT (SELECT MIN(queue) FROM jr_jobs INDEXED BY jr_jobs_ready_queue WHERE {Ready} AND queue > q.name) FROM q WHERE q.name IS NOT NULL)
            SELECT name FROM q WHERE name IS NOT NULL
            """);
        return queues.Rows(static row => row.Text(0));
    }

    /// <summary>
    /// A claim limited to some queues reads each queue it may take from on its own, from the
    /// per-queue ready index, at most as many jobs as that queue may take, and keeps the best by
    /// priority, run time and id: its cost grows with the number of queues, never with the jobs it
    /// may not take (a queue at its limit with 10,000 ready jobs was read past on every claim).
    /// </summary>
    private static List<JobSnapshot> ClaimFiltered(WriteContext c, ClaimRequest request, Guid token, DateTimeOffset expires)
    {
        var select = c.Command($"SELECT {Columns} FROM jr_jobs INDEXED BY jr_jobs_ready_queue WHERE {Ready} AND queue = $queue AND scheduled_at <= $now ORDER BY priority DESC, scheduled_at, id LIMIT $limit");
        var candidates = new List<JobSnapshot>();
        foreach (var queue in request.Queues?.Distinct(StringComparer.Ordinal) ?? ReadyQueues(c))
        {
            var room = request.QueueLimits is { } limits && limits.TryGetValue(queue, out var limit) ? Math.Min(limit, request.MaxCount) : request.MaxCount;
            if (room <= 0 || !request.Allows(queue, 0))
            {
                continue;
            }

            select.Reuse();
            select.Bind("$queue", queue);
            select.Bind("$now", c.NowTicks);
            select.Bind("$limit", room);
            candidates.AddRange(ReadJobs(select, c.Now));
        }

        candidates.Sort(QueueOrder);
        if (candidates.Count > request.MaxCount)
        {
            candidates.RemoveRange(request.MaxCount, candidates.Count - request.MaxCount);
        }

        var update = c.Command("""
            UPDATE jr_jobs SET status = 1, attempt = attempt + 1, started_at = $now, owner = $owner,
                lease_token = $token, lease_expires = $expires, cancel_requested = 0
            WHERE id = $id
            """);
        var claimed = new List<JobSnapshot>(candidates.Count);
        foreach (var job in candidates)
        {
            update.Reuse();
            update.Bind("$now", c.NowTicks);
            update.Bind("$owner", request.Owner);
            update.Bind("$token", token);
            update.Bind("$expires", Ticks(expires));
            update.Bind("$id", job.Id);
            update.Execute();
            claimed.Add(job with { Status = JobStatus.Running, Attempt = job.Attempt + 1, StartedAt = c.Now, Owner = request.Owner, CancellationRequested = false, WaitReason = JobWaitReason.None });
        }

        return claimed;
    }
}
