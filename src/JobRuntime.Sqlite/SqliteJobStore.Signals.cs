using JobRuntime.Storage;
using Microsoft.Data.Sqlite;

namespace JobRuntime.Sqlite;

internal sealed partial class SqliteJobStore : IJobStoreSignals
{
    /// <inheritdoc />
    /// <remarks>
    /// Brings cancellations requested by other processes sharing the file within
    /// <see cref="SqliteJobStoreOptions.SignalPollInterval"/>, instead of at the running job's next
    /// lease renewal (a third of the lease: 10 s by default). It polls <c>PRAGMA data_version</c> on
    /// a connection of its own, which changes only when another connection committed, and only then
    /// reads the running jobs whose cancellation was requested (an index of running jobs): nothing
    /// is written, and a quiet file costs one pragma per interval. Each request is reported once. A commit
    /// by another connection also wakes the claim loop (it may have stored jobs).
    /// </remarks>
    public async Task ListenAsync(Action<JobStoreSignal> onSignal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onSignal);
        if (_options.SignalPollInterval == TimeSpan.Zero)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            return;
        }

        var reported = new HashSet<JobId>();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Initialized().WaitAsync(cancellationToken).ConfigureAwait(false);
                var connection = new SqliteConnection(_connectionString);
                await using (connection.ConfigureAwait(false))
                {
                    await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                    using var version = connection.CreateCommand();
                    version.CommandText = "PRAGMA data_version";
                    using var cancels = connection.CreateCommand();
                    cancels.CommandText = "SELECT id FROM jr_jobs INDEXED BY jr_jobs_leases WHERE status = 1 AND cancel_requested = 1";
                    long? seen = null;
                    while (!cancellationToken.IsCancellationRequested)
                    {
                        var current = Convert.ToInt64(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                        if (current != seen)
                        {
                            // Another connection committed: perhaps jobs (another process's, or a caller's own transaction).
                            if (seen is not null)
                            {
                                onSignal(new JobStoreSignal(JobStoreSignalKind.JobsAvailable));
                            }

                            seen = current;
                            var requested = new HashSet<JobId>();
                            using (var reader = cancels.ExecuteReader())
                            {
                                while (reader.Read())
                                {
                                    requested.Add(new JobId(new Guid(reader.GetFieldValue<byte[]>(0), bigEndian: true)));
                                }
                            }

                            // Forget requests that are settled (the job ended), report new ones.
                            reported.IntersectWith(requested);
                            foreach (var id in requested)
                            {
                                if (reported.Add(id))
                                {
                                    onSignal(new JobStoreSignal(JobStoreSignalKind.CancelRequested, id));
                                }
                            }
                        }

                        await Task.Delay(_options.SignalPollInterval, _time, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is SqliteException or SqliteJobStoreException or IOException)
            {
                // The file is busy, locked or gone for now: the lease renewals remain the guarantee; try again later.
                var delay = _options.SignalPollInterval * 8;
                Log.SignalPollFailed(_logger, ex, DataSource, delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
