using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Runs a handler's <see cref="JobHandlerOptions.OnFinalFailure"/> when one of its jobs fails for
/// good (its last attempt failed or timed out, or recovery ended it): on the thread pool, in a DI
/// scope of its own, after the failure was stored; an exception it throws is logged. At most once:
/// a process that dies between the store's write and the hook does not run it.
/// </summary>
internal sealed class FinalFailureHooks(JobHandlerRegistry registry, IServiceScopeFactory scopes, ILogger logger)
{
    public void Failed(JobHandlerDescriptor? descriptor, JobSnapshot job)
    {
        if (job.Status is not (JobStatus.Failed or JobStatus.TimedOut))
        {
            return;
        }

        if (descriptor is null && !registry.TryGet(job.Type, out descriptor))
        {
            return;
        }

        if (descriptor.Options.OnFinalFailure is { } hook)
        {
            _ = Task.Run(() => RunAsync(hook, job));
        }
    }

    private async Task RunAsync(Func<JobSnapshot, IServiceProvider, CancellationToken, ValueTask> hook, JobSnapshot job)
    {
        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            try
            {
                await hook(job, scope.ServiceProvider, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Telemetry.Log.FinalFailureHookFailed(logger, ex, job.Id, job.Type);
            }
        }
    }
}
