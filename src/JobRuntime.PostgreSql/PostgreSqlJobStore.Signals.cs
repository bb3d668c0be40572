using System.Collections.Concurrent;
using JobRuntime.Storage;
using Npgsql;

namespace JobRuntime.PostgreSql;

public sealed partial class PostgreSqlJobStore
{
    private readonly ConcurrentDictionary<string, long> _lastNotified = new(StringComparer.Ordinal);

    /// <summary>The NOTIFY channel the nodes sharing this schema use.</summary>
    public string Channel { get; }

    /// <summary>The application_name of the listening connection (visible in pg_stat_activity).</summary>
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

        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    void OnNotification(object sender, NpgsqlNotificationEventArgs e)
                    {
                        if (Parse(e.Payload) is { } signal)
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
                    failures = 0;
                    onSignal(new JobStoreSignal(JobStoreSignalKind.JobsAvailable));
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
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                // Lost the connection (server restart, pg_terminate_backend, network): back off and reconnect.
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(10_000, 100 * Math.Pow(2, Math.Min(failures, 10))) * (0.5 + Random.Shared.NextDouble()));
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

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

        return null;
    }

    /// <summary>Notifies (inside the writing transaction, so only on commit) that a queue has new work, at most once per debounce interval.</summary>
    private async Task NotifyJobsAvailableAsync(Tx tx, string queue)
    {
        if (!_options.Notifications)
        {
            return;
        }

        var now = _time.GetTimestamp();
        var last = _lastNotified.GetValueOrDefault(queue);
        if (last != 0 && _time.GetElapsedTime(last, now) < _options.NotifyDebounce)
        {
            return;
        }

        _lastNotified[queue] = now;
        await tx.ScalarAsync("SELECT pg_notify(@channel, @payload)", ("channel", Channel), ("payload", "a:" + queue)).ConfigureAwait(false);
    }

    private async Task NotifyCancelAsync(Tx tx, JobId id)
    {
        if (_options.Notifications)
        {
            await tx.ScalarAsync("SELECT pg_notify(@channel, @payload)", ("channel", Channel), ("payload", "c:" + id.ToString())).ConfigureAwait(false);
        }
    }
}
