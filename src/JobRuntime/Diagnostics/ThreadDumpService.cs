using JobRuntime.Execution;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Diagnostics;

/// <summary>Tries the registered providers in order, then the core provider; one capture at a time.</summary>
internal sealed class ThreadDumpService : IThreadDumpService, IDisposable
{
    private static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(10);

    private readonly IThreadDumpProvider[] _providers;
    private readonly JobExecutor _executor;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public ThreadDumpService(IEnumerable<IThreadDumpProvider> providers, JobExecutor executor, TimeProvider time, ILoggerFactory? loggerFactory = null)
    {
        _providers = [.. providers, new CoreThreadDumpProvider(time)];
        _executor = executor;
        _logger = (loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger("JobRuntime.Diagnostics");
    }

    public async Task<ThreadDump> CaptureAsync(JobId? jobId = null, string reason = "on demand", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);

        // Off the caller's thread: a job asking for its own dump must not be the thread inspected.
        await Task.Yield();
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var request = new ThreadDumpRequest(jobId, reason, _executor.RunningJobs());
            var skipped = new List<string>();
            foreach (var provider in _providers)
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                limit.CancelAfter(DefaultLimit);
                try
                {
                    var dump = await provider.CaptureAsync(request, limit.Token).ConfigureAwait(false);
                    return skipped.Count == 0 ? dump : dump with { Notes = [.. dump.Notes, .. skipped] };
                }
                catch (Exception ex) when (ex is ThreadDumpUnavailableException or NotSupportedException or UnauthorizedAccessException or TimeoutException
                    || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    Log.ProviderUnavailable(_logger, provider.Name, ex.Message);
                    skipped.Add($"provider '{provider.Name}' was not available: {ex.Message}");
                }
            }

            throw new InvalidOperationException("No thread dump provider could capture a dump.");
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    public void Dispose() => _oneAtATime.Dispose();
}
