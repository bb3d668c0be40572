using System.Globalization;
using JobRuntime.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace JobRuntime.Health;

/// <summary>
/// The runtime's health, read from the store: it answers (else unhealthy), its signal channel is
/// connected, a node holds the maintenance leadership, and no queue's oldest ready job has waited
/// longer than the limit (else degraded). The numbers go in the result's data.
/// </summary>
internal sealed class JobRuntimeHealthCheck(
    IJobStore store,
    TimeProvider time,
    JobRuntimeHealthCheckSettings settings,
    IJobStoreStatistics? statistics = null,
    IJobStoreSignals? signals = null,
    IJobStoreLeadership? leadership = null) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(settings.Timeout);
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var problems = new List<string>();
        IReadOnlyList<JobQueueStatistics> queues;
        try
        {
            queues = statistics is null ? [] : await statistics.GetQueueStatisticsAsync(limit.Token).ConfigureAwait(false);
            if (statistics is null)
            {
                // A store that cannot count still shows whether it answers.
                await store.GetAsync(default, limit.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var why = ex is OperationCanceledException && !cancellationToken.IsCancellationRequested
                ? $"the job store did not answer within {settings.Timeout.TotalSeconds:0.#} s"
                : $"the job store failed: {ex.Message}";
            return new HealthCheckResult(context.Registration.FailureStatus, why, ex);
        }

        var now = time.GetUtcNow();
        foreach (var queue in queues)
        {
            data[$"queue.{queue.Queue}.ready"] = queue.Ready;
            data[$"queue.{queue.Queue}.running"] = queue.Running;
            if (queue.OldestReadySince is { } since)
            {
                var waited = now - since;
                data[$"queue.{queue.Queue}.oldest_ready_wait_s"] = Math.Round(waited.TotalSeconds, 1);
                if (waited > settings.ReadyJobWaitLimit)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"queue '{queue.Queue}': the oldest of {queue.Ready} ready job(s) has waited {waited:g} (limit {settings.ReadyJobWaitLimit:g})"));
                }
            }
        }

        if (signals is not null)
        {
            data["signals.connected"] = signals.IsConnected;
            if (!signals.IsConnected)
            {
                problems.Add("the store's signal channel is down: cancels and new jobs from other nodes arrive only at lease renewal and poll");
            }
        }

        if (leadership is not null)
        {
            try
            {
                var leader = await leadership.GetLeaderAsync(limit.Token).ConfigureAwait(false);
                data["maintenance.leader"] = leader ?? "";
                if (leader is null)
                {
                    problems.Add("no node holds the maintenance leadership: expired leases are not recovered and old jobs not pruned");
                }
            }
            catch (NotSupportedException)
            {
                // The store cannot tell; leave the leader out.
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"the job store failed: {ex.Message}", ex, data);
            }
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy(queues.Count == 0 ? "the job store answers; no job is ready or running" : $"the job store answers; {queues.Sum(q => q.Ready)} ready, {queues.Sum(q => q.Running)} running", data)
            : HealthCheckResult.Degraded(string.Join("; ", problems), data: data);
    }
}

/// <summary>The limits of a <see cref="JobRuntimeHealthCheck"/>.</summary>
internal sealed record JobRuntimeHealthCheckSettings(TimeSpan ReadyJobWaitLimit, TimeSpan Timeout);
