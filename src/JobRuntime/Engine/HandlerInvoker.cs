using System.Collections.Concurrent;
using JobRuntime.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JobRuntime.Engine;

/// <summary>
/// Runs a job's handler for one attempt, on the executor's thread: announces the start, reads the
/// parents' results, opens a DI scope and a log scope, builds the <see cref="JobContext"/> and calls
/// the handler with the job's arguments.
/// </summary>
internal sealed class HandlerInvoker(
    IJobStore store,
    JobHandlerRegistry registry,
    ILoggerFactory loggerFactory,
    LifecycleNotifier notifier,
    JobRuntimeOptions options,
    IReadOnlyList<Type> middleware)
{
    // One logger per handler type, not one per attempt (a category name is built from the type each time).
    private readonly ConcurrentDictionary<Type, ILogger> _handlerLoggers = new();

    public async ValueTask<object?> InvokeAsync(JobRun run, JobHandlerDescriptor? descriptor, CancellationToken token)
    {
        // Started here, on the thread that runs the job, so that the event precedes any the
        // handler publishes, and the run's trace activity is current while the handler runs.
        notifier.Started(run);
        // The submit-time fields: the running snapshot (context.Job) is made only if the handler reads it.
        var job = run.Definition;
        if (descriptor is null)
        {
            throw new UnknownJobTypeException(job.Type, registry.Names);
        }

        // A batch's head waits for every member but does not read them all (thousands): it asks for the batch's status.
        var parents = job.DependsOn.Count == 0 || job.IsBatchHead ? [] : await ReadParentsAsync(job, token).ConfigureAwait(false);
        // The run is the attempt's service provider: its scope is made on first use (a handler created
        // without DI that never asks for a service needs none).
        IServiceProvider scope = run;
        try
        {
            // TryGetValue first: the method group would be a new delegate on every call.
            if (!_handlerLoggers.TryGetValue(descriptor.HandlerType, out var logger))
            {
                logger = _handlerLoggers.GetOrAdd(descriptor.HandlerType, loggerFactory.CreateLogger);
            }

            // The scope's state is built only when something logs at all.
            using var logScope = logger.IsEnabled(LogLevel.Critical)
                ? logger.BeginScope(new KeyValuePair<string, object>[] { new("JobId", job.Id), new("JobType", job.Type), new("Attempt", run.Attempt) })
                : null;
            var context = new JobContext(run, logger, parents);
            if (middleware.Count == 0)
            {
                return await descriptor.InvokeAsync(scope, job.Payload, context, options.SerializerOptions).ConfigureAwait(false);
            }

            var result = await Pipeline(descriptor, scope, job.Payload)(context).ConfigureAwait(false);
            return descriptor.SerializeResult(result, options.SerializerOptions);
        }
        finally
        {
            await run.DisposeServicesAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The middleware around the handler, outermost first, each made from the attempt's scope.</summary>
    private JobExecutionDelegate Pipeline(JobHandlerDescriptor descriptor, IServiceProvider scope, string payload)
    {
        var serializer = options.SerializerOptions;
        JobExecutionDelegate next = context => descriptor.InvokeHandlerAsync(scope, payload, context, serializer);
        for (var i = middleware.Count - 1; i >= 0; i--)
        {
            var step = (IJobMiddleware)ActivatorUtilities.GetServiceOrCreateInstance(scope, middleware[i]);
            var inner = next;
            next = context => step.InvokeAsync(context, inner);
        }

        return next;
    }

    private async Task<IReadOnlyList<JobSnapshot>> ReadParentsAsync(JobSnapshot job, CancellationToken token)
    {
        var found = new List<JobSnapshot>(job.DependsOn.Count);
        foreach (var parentId in job.DependsOn)
        {
            if (await store.GetAsync(parentId, token).ConfigureAwait(false) is { } parent)
            {
                found.Add(parent);
            }
        }

        return found;
    }
}
