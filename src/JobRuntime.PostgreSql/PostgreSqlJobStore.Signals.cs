using System.Collections.Concurrent;
using System.Globalization;
using JobRuntime.Storage;
using Npgsql;

namespace JobRuntime.PostgreSql;

internal sealed partial class PostgreSqlJobStore
{
    private readonly ConcurrentDictionary<string, long> _lastNotified = new(StringComparer.Ordinal);

    /// <summary>The NOTIFY channel the nodes sharing this schema use.</summary>
    public string Channel { get; }

    /// <summary>The application_name of the listening connection (visible in pg_stat_activity).</summary>
    /// <summary>The listener's waits between reconnects: 200 ms doubling to 10 s, ±50 % (the runtime's one back-off formula).</summary>
    private static readonly JobRetryPolicy ReconnectBackoff = new() { Delay = TimeSpan.FromMilliseconds(200), MaxDelay = TimeSpan.FromSeconds(10), Jitter = 0.5 };

    public string ListenerName => ("jobruntime-listen-" + Channel)[..Math.Min(63, 18 + Channel.Length)];

    /// <inheritdoc />
    public async Task ListenAsync(Action<JobStoreSignal> onSignal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onSignal);
        if (!_options.Notifications)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            return;
        }

        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await InitializeAsync(cancellationToken).ConfigureAwait(false);
                var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    void OnNotification(object sender, NpgsqlNotificationEventArgs e)
                    {
                        if (e.Payload.StartsWith("s:", StringComparison.Ordinal))
                        {
                            // This store's own writes: its runtime published those changes itself.
                            if (e.Payload.AsSpan().Slice(2).StartsWith(_origin, StringComparison.Ordinal))
                            {
                                return;
                            }

                            foreach (var changed in StatusIds(e.Payload))
                            {
                                onSignal(new JobStoreSignal(JobStoreSignalKind.StatusChanged, changed));
                            }
                        }
                        else if (Parse(e.Payload) is { } signal)
                        {
                            onSignal(signal);
                        }
                    }

                    connection.Notification += OnNotification;
                    await using (var listen = new NpgsqlCommand($"SET application_name = '{ListenerName}'; LISTEN \"{Channel}\"", connection))
                    {
                        await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    // (Re)connected: news may have been missed while no one listened.
                    if (failures > 0)
                    {
                        Log.ListenerBack(_logger, _schema, failures);
                    }

                    failures = 0;
                    _listening = true;
                    onSignal(new JobStoreSignal(JobStoreSignalKind.Resync));
                    while (!cancellationToken.IsCancellationRequested)
                    {
                        if (!await connection.WaitAsync(_options.ListenKeepAlive, cancellationToken).ConfigureAwait(false))
                        {
                            // Quiet for a while: prove the connection is alive (a half-open one fails here).
                            await using var ping = new NpgsqlCommand("SELECT 1", connection);
                            await ping.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or PostgreSqlJobStoreException or IOException or TimeoutException or InvalidOperationException)
            {
                // Lost the connection (server restart, pg_terminate_backend, network) or never had
                // one (server down at start-up): back off and try again.
                _listening = false;
                failures++;
                var delay = ReconnectBackoff.WaitAfter(failures);
                Log.ListenerDown(_logger, ex, _schema, delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private volatile bool _listening;

    /// <inheritdoc />
    public bool IsConnected => !_options.Notifications || _listening;

    private static JobStoreSignal? Parse(string payload)
    {
        if (payload.StartsWith("a:", StringComparison.Ordinal))
        {
            return new JobStoreSignal(JobStoreSignalKind.JobsAvailable, Queue: payload[2..]);
        }

        if (payload.StartsWith("c:", StringComparison.Ordinal) && Guid.TryParseExact(payload[2..], "N", out var id))
        {
            return new JobStoreSignal(JobStoreSignalKind.CancelRequested, new JobId(id));
        }

        // p:<id>:<current>:<total>:<stage length>:<stage><message>
        var parts = payload.Split(':', 6);
        if (parts.Length == 6 && parts[0] == "p" && Guid.TryParseExact(parts[1], "N", out var running)
            && long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var current)
            && long.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var total)
            && int.TryParse(parts[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out var stageLength)
            && stageLength >= -1 && stageLength <= parts[5].Length)
        {
            var stage = stageLength < 0 ? null : parts[5][..stageLength];
            var rest = parts[5][Math.Max(0, stageLength)..];
            var message = rest.Length == 0 ? null : rest[1..];
            return new JobStoreSignal(JobStoreSignalKind.Progress, new JobId(running), Progress: new JobProgress(current, total, message, stage));
        }

        return null;
    }

    /// <summary>
    /// Names this store instance in its status notifications, so that its own listener skips them:
    /// the runtime on top of it published each of those changes as it made them, and relaying its
    /// own claim (which can arrive before the run is registered) read the job back once per job.
    /// </summary>
    private readonly string _origin = Guid.NewGuid().ToString("N")[..8];

    /// <summary>Jobs named in one status notification.</summary>
    private const int StatusIdsPerNotification = 200;

    /// <summary>Whether job starts and ends are notified to other nodes' watchers.</summary>
    private bool NotifiesStatus => _options.Notifications && _options.LiveEvents;

    /// <summary>The jobs of a status notification ("s:", the writer's origin, ":", then 32 hex digits per job); a malformed id is skipped.</summary>
    private static IEnumerable<JobId> StatusIds(string payload)
    {
        for (var at = payload.IndexOf(':', 2) + 1; at > 0 && at + 32 <= payload.Length; at += 32)
        {
            if (Guid.TryParseExact(payload.AsSpan(at, 32), "N", out var id))
            {
                yield return new JobId(id);
            }
        }
    }

    /// <summary>Notifies watchers on other nodes that jobs' states changed (inside the writing transaction).</summary>
    private async Task NotifyStatusAsync(Tx tx, IEnumerable<JobId> ids)
    {
        if (NotifiesStatus)
        {
            // Up to 200 jobs per notification rather than one each (32 hex digits per job, well
            // under NOTIFY's 8000 bytes): PostgreSQL queues notifications one by one at commit, and
            // every node's listener receives each of them.
            var payloads = ids.Chunk(StatusIdsPerNotification).Select(chunk => "s:" + _origin + ":" + string.Concat(chunk.Select(id => id.Value.ToString("N")))).ToArray();
            if (payloads.Length > 0)
            {
                await tx.ScalarAsync(NotifyManySql, ("channel", Channel), ("payloads", payloads)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Notifies watchers on other nodes of a job's persisted progress (payload well under NOTIFY's 8000 bytes).</summary>
    private async Task NotifyProgressAsync(Tx tx, JobId id, JobProgress progress)
    {
        if (_options.Notifications && _options.LiveEvents)
        {
            // Cut short (at most 2,200 characters, under 8,000 bytes in UTF-8) and cleaned after the cut, which may split a surrogate pair.
            var stage = progress.Stage is { } s ? PostgreSqlText.Clean(s[..Math.Min(s.Length, 200)]) : null;
            var message = progress.Message is { } m ? "|" + PostgreSqlText.Clean(m[..Math.Min(m.Length, 2000)]) : string.Empty;
            var payload = string.Create(CultureInfo.InvariantCulture, $"p:{id}:{progress.Current}:{progress.Total}:{stage?.Length ?? -1}:{stage}{message}");
            await tx.ScalarAsync("SELECT pg_notify(@channel, @payload)", ("channel", Channel), ("payload", payload)).ConfigureAwait(false);
        }
    }

    /// <summary>Sends every payload of <c>@payloads</c> on <c>@channel</c> (none for an empty array).</summary>
    private const string NotifyManySql = "SELECT COUNT(pg_notify(@channel, p)) FROM unnest(@payloads::text[]) AS p";

    /// <summary>
    /// The largest notification payload the store sends, in UTF-8 bytes: PostgreSQL refuses one of
    /// 8000 bytes or more (SQLSTATE 22023), failing the transaction it is in.
    /// </summary>
    internal const int MaxPayloadBytes = 7999;

    /// <summary>Notifies (inside the writing transaction, so only on commit) that a queue has new work, at most once per debounce interval.</summary>
    private async Task NotifyJobsAvailableAsync(Tx tx, string queue)
    {
        var payloads = JobsAvailablePayloads([queue]);
        if (payloads.Length > 0)
        {
            await tx.ScalarAsync("SELECT pg_notify(@channel, @payload)", ("channel", Channel), ("payload", payloads[0])).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The "new work" payloads for <paramref name="queues"/>, at most one per queue per debounce
    /// interval. A queue name too long for a payload is announced as "a:" (some queue), which wakes
    /// every listener: the signal is a hint, the claim decides.
    /// </summary>
    private string[] JobsAvailablePayloads(IEnumerable<string> queues)
    {
        if (!_options.Notifications)
        {
            return [];
        }

        var now = _time.GetTimestamp();
        var payloads = new List<string>(1);
        foreach (var queue in queues)
        {
            var last = _lastNotified.GetValueOrDefault(queue);
            if (last != 0 && _time.GetElapsedTime(last, now) < _options.NotifyDebounce)
            {
                continue;
            }

            _lastNotified[queue] = now;
            var payload = System.Text.Encoding.UTF8.GetByteCount(queue) + 2 <= MaxPayloadBytes ? "a:" + queue : "a:";
            if (!payloads.Contains(payload))
            {
                payloads.Add(payload);
            }
        }

        return [.. payloads];
    }

    private async Task NotifyCancelAsync(Tx tx, JobId id)
    {
        if (_options.Notifications)
        {
            await tx.ScalarAsync("SELECT pg_notify(@channel, @payload)", ("channel", Channel), ("payload", "c:" + id.ToString())).ConfigureAwait(false);
        }
    }
}
