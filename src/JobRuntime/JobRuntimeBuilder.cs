using JobRuntime.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace JobRuntime;

/// <summary>Configures the job runtime: handlers and the store. Returned by <c>AddJobRuntime</c>.</summary>
public sealed class JobRuntimeBuilder
{
    internal JobRuntimeBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection, for extension packages (stores, diagnostics).</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Registers a handler for a job type. The handler's argument and result types are read from its
    /// <see cref="IJobHandler{TArgs, TResult}"/> interface. Each attempt gets its own handler: from the
    /// attempt's DI scope (transient unless the application registered the handler type in DI first,
    /// with a lifetime of its choosing), or — when the handler has only a public parameterless
    /// constructor, is not disposable and was not registered first — made directly, without a scope.
    /// </summary>
    /// <typeparam name="THandler">The handler; it must implement <see cref="IJobHandler{TArgs, TResult}"/> exactly once.</typeparam>
    /// <param name="jobType">The job type's name, stored with each job.</param>
    /// <param name="configure">Sets the handler's defaults (dedicated thread, queue, timeout, attempts).</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The handler does not implement the interface exactly once, or the name is taken by another handler.</exception>
    public JobRuntimeBuilder AddHandler<THandler>(string jobType, Action<JobHandlerOptions>? configure = null)
        where THandler : class
    {
        var interfaces = typeof(THandler).GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IJobHandler<,>))
            .ToArray();
        if (interfaces.Length != 1)
        {
            throw new ArgumentException($"{typeof(THandler).FullName} must implement IJobHandler<TArgs, TResult> exactly once (it implements it {interfaces.Length} times); use AddHandler<THandler, TArgs, TResult> to choose.", nameof(THandler));
        }

        var types = interfaces[0].GetGenericArguments();
        var method = typeof(JobRuntimeBuilder).GetMethod(nameof(AddTypedHandler), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .MakeGenericMethod(typeof(THandler), types[0], types[1]);
        method.Invoke(this, System.Reflection.BindingFlags.DoNotWrapExceptions, binder: null, [jobType, configure], culture: null);
        return this;
    }

    /// <summary>
    /// Adds a middleware around every attempt of every job (see <see cref="IJobMiddleware"/>). The first
    /// added is the outermost. Each attempt gets its own from the attempt's DI scope: transient unless
    /// the application registered the type in DI itself. Adding the same type again changes nothing.
    /// </summary>
    /// <typeparam name="TMiddleware">The middleware.</typeparam>
    /// <returns>This builder.</returns>
    public JobRuntimeBuilder UseMiddleware<TMiddleware>()
        where TMiddleware : class, IJobMiddleware
    {
        var types = Services.FirstOrDefault(d => d.ServiceType == typeof(JobMiddlewareTypes))?.ImplementationInstance as JobMiddlewareTypes;
        if (types is null)
        {
            types = new JobMiddlewareTypes();
            Services.AddSingleton(types);
        }

        types.Add(typeof(TMiddleware));
        Services.TryAddTransient<TMiddleware>();
        return this;
    }

    /// <summary>
    /// Adds a filter that sees every submit before it is stored, and may change its options or refuse
    /// it (see <see cref="IJobSubmitFilter"/>). Filters run in the order they were added; each is a
    /// singleton made by DI.
    /// </summary>
    /// <typeparam name="TFilter">The filter.</typeparam>
    /// <returns>This builder.</returns>
    public JobRuntimeBuilder AddSubmitFilter<TFilter>()
        where TFilter : class, IJobSubmitFilter
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobSubmitFilter, TFilter>());
        return this;
    }

    /// <summary>Registers a handler for a job type with explicit argument and result types (no reflection).</summary>
    /// <typeparam name="THandler">The handler.</typeparam>
    /// <typeparam name="TArgs">Its argument type.</typeparam>
    /// <typeparam name="TResult">Its result type.</typeparam>
    /// <param name="jobType">The job type's name, stored with each job.</param>
    /// <param name="configure">Sets the handler's defaults.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The name is taken by another handler.</exception>
    public JobRuntimeBuilder AddHandler<THandler, TArgs, TResult>(string jobType, Action<JobHandlerOptions>? configure = null)
        where THandler : class, IJobHandler<TArgs, TResult>
    {
        AddTypedHandler<THandler, TArgs, TResult>(jobType, configure);
        return this;
    }

    /// <summary>
    /// Uses a store built by DI, replacing the in-memory default. The store's optional capabilities
    /// (<see cref="IJobStoreSignals"/>, <see cref="IJobStoreLeadership"/>) are registered when
    /// <typeparamref name="TStore"/> implements them.
    /// </summary>
    /// <typeparam name="TStore">The store type.</typeparam>
    /// <returns>This builder.</returns>
    public JobRuntimeBuilder UseStore<TStore>()
        where TStore : class, IJobStore
        => UseStore(sp => ActivatorUtilities.CreateInstance<TStore>(sp));

    /// <summary>
    /// Uses a store built by a factory, replacing the in-memory default (or a store configured
    /// before). The store's optional capabilities (<see cref="IJobStoreSignals"/>,
    /// <see cref="IJobStoreLeadership"/>, <see cref="IJobStoreStatistics"/>) are registered when
    /// <typeparamref name="TStore"/> implements them; a factory typed as plain <see cref="IJobStore"/> registers none (register
    /// them in DI yourself).
    /// </summary>
    /// <typeparam name="TStore">The store's type, as the factory returns it.</typeparam>
    /// <param name="factory">Builds the store, once.</param>
    /// <returns>This builder.</returns>
    public JobRuntimeBuilder UseStore<TStore>(Func<IServiceProvider, TStore> factory)
        where TStore : class, IJobStore
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.RemoveAll<IJobStore>();
        Services.RemoveAll<IJobStoreSignals>();
        Services.RemoveAll<IJobStoreLeadership>();
        Services.RemoveAll<IJobStoreStatistics>();
        Services.RemoveAll<IJobStoreSchedules>();
        Services.RemoveAll<StoreRegistration>();

        // The store is built once and registered under each contract it fulfils: decorating
        // IJobStore (DecorateStore) leaves its signals and leadership in place.
        var registration = new StoreRegistration(sp => factory(sp));
        Services.AddSingleton(registration);
        Services.AddSingleton<IJobStore>(sp => registration.Get(sp));
        if (typeof(IJobStoreSignals).IsAssignableFrom(typeof(TStore)))
        {
            Services.AddSingleton(sp => (IJobStoreSignals)registration.Get(sp));
        }

        if (typeof(IJobStoreLeadership).IsAssignableFrom(typeof(TStore)))
        {
            Services.AddSingleton(sp => (IJobStoreLeadership)registration.Get(sp));
        }

        if (typeof(IJobStoreStatistics).IsAssignableFrom(typeof(TStore)))
        {
            Services.AddSingleton(sp => (IJobStoreStatistics)registration.Get(sp));
        }

        if (typeof(IJobStoreSchedules).IsAssignableFrom(typeof(TStore)))
        {
            Services.AddSingleton(sp => (IJobStoreSchedules)registration.Get(sp));
        }

        return this;
    }

    /// <summary>
    /// Wraps the configured store (the in-memory default if none was configured) in another, such
    /// as one that logs, measures or injects faults. The store's signals and leadership stay
    /// registered: the runtime keeps using them from the wrapped store. Call after the store's
    /// <c>Use…</c> method; decorations add up, the last outermost.
    /// </summary>
    /// <param name="decorate">Given the services and the store so far, returns the store the runtime uses.</param>
    /// <returns>This builder.</returns>
    public JobRuntimeBuilder DecorateStore(Func<IServiceProvider, IJobStore, IJobStore> decorate)
    {
        ArgumentNullException.ThrowIfNull(decorate);
        var inner = Services.LastOrDefault(d => d.ServiceType == typeof(IJobStore))
            ?? throw new InvalidOperationException("No store is registered to decorate; call AddJobRuntime first.");
        Services.Remove(inner);
        Services.AddSingleton<IJobStore>(sp => decorate(sp, Resolve(inner, sp)));
        return this;

        static IJobStore Resolve(ServiceDescriptor descriptor, IServiceProvider sp)
            => (IJobStore)(descriptor.ImplementationInstance
                ?? descriptor.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!));
    }

    /// <summary>
    /// Registers a recurring job, stored (or updated, keeping its last-run state) when the runtime
    /// starts: like <c>RecurringJob.AddOrUpdate</c> in Hangfire. At run time use <see cref="IRecurringJobs"/>.
    /// </summary>
    /// <typeparam name="TArgs">The handler's argument type (its job type is the handler registered for it).</typeparam>
    /// <param name="name">A unique name.</param>
    /// <param name="cron">A cron expression of 5 fields, or 6 with seconds first.</param>
    /// <param name="args">The arguments of every occurrence.</param>
    /// <param name="configure">Sets the time zone, the policies and the jobs' options.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The name, expression, time zone or an option is invalid (checked now; the message names the schedule).</exception>
    public JobRuntimeBuilder AddRecurring<TArgs>(string name, string cron, TArgs args, Action<RecurringJobOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(cron);
        var options = new RecurringJobOptions();
        configure?.Invoke(options);
        _ = ScheduleDefinition.Create(name, "(checked at start)", cron, "null", options);
        Services.AddSingleton(new RecurringJobRegistration(name, async (jobs, token) => await jobs.AddOrUpdateAsync(name, cron, args, configure, token).ConfigureAwait(false)));
        return this;
    }

    /// <summary>
    /// Keeps jobs in process memory (the default when no store is configured), at most
    /// <paramref name="maxFinishedJobs"/> finished ones: the jobs that finished first are forgotten beyond it.
    /// </summary>
    /// <param name="maxFinishedJobs">How many finished jobs to keep; default 10,000.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFinishedJobs"/> is negative.</exception>
    public JobRuntimeBuilder UseInMemoryStore(int maxFinishedJobs = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxFinishedJobs);
        return UseStore(sp => new InMemoryJobStore(sp.GetService<TimeProvider>(), maxFinishedJobs));
    }

    /// <summary>The runtime's own job types: a batch's head (<see cref="JobBatch.HeadType"/>).</summary>
    internal void AddBuiltInHandlers() => AddTypedHandler<BatchHeadHandler, BatchHeadArgs, Storage.JobCounts>(JobBatch.HeadType, null);

    private void AddTypedHandler<THandler, TArgs, TResult>(string jobType, Action<JobHandlerOptions>? configure)
        where THandler : class, IJobHandler<TArgs, TResult>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        if (jobType.Length > JobSubmitOptions.MaxNameLength || !Storage.JobStoreText.IsWellFormed(jobType))
        {
            throw new ArgumentException($"A job type must be at most {JobSubmitOptions.MaxNameLength} characters of well-formed text (no NUL character, no unpaired surrogate).", nameof(jobType));
        }

        foreach (var existing in Services)
        {
            if (existing.ServiceType == typeof(JobHandlerDescriptor) && existing.ImplementationInstance is JobHandlerDescriptor d && d.Name == jobType)
            {
                if (d.HandlerType == typeof(THandler))
                {
                    configure?.Invoke(d.Options);
                    return;
                }

                throw new ArgumentException($"Job type '{jobType}' is already registered for {d.HandlerType.FullName}.", nameof(jobType));
            }
        }

        var options = new JobHandlerOptions();
        configure?.Invoke(options);
        if (options.MaxAttempts is < 1)
        {
            throw new ArgumentException($"MaxAttempts of job type '{jobType}' must be at least 1 (was {options.MaxAttempts}).", nameof(configure));
        }

        if (options.Queue is { } queue && (string.IsNullOrWhiteSpace(queue) || queue.Length > JobSubmitOptions.MaxNameLength || !Storage.JobStoreText.IsWellFormed(queue)))
        {
            throw new ArgumentException($"Queue of job type '{jobType}' must be a non-blank name of at most {JobSubmitOptions.MaxNameLength} characters of well-formed text.", nameof(configure));
        }

        if (options.Retry?.Validate() is { Count: > 0 } retryErrors)
        {
            throw new ArgumentException($"The retry policy of job type '{jobType}' is invalid: {string.Join(" ", retryErrors)}", nameof(configure));
        }

        if (options.Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > JobSubmitOptions.MaxTimeout))
        {
            throw new ArgumentException($"Timeout of job type '{jobType}' must be positive and at most {JobSubmitOptions.MaxTimeout.TotalDays:0} days (was {timeout}).", nameof(configure));
        }

        // A handler that asks for nothing and that the application did not register itself is made
        // directly for each attempt: no DI scope, no container lookup.
        var registeredByApp = Services.Any(d => d.ServiceType == typeof(THandler));
        Services.AddSingleton<JobHandlerDescriptor>(new JobHandlerDescriptor<THandler, TArgs, TResult>(jobType, options)
        {
            CreatedDirectly = !registeredByApp && JobHandlerDescriptor<THandler, TArgs, TResult>.AsksForNothing(),
        });
        Services.TryAddTransient<THandler>();
    }

    /// <summary>The configured store, built once on first use and shared by every contract it is registered under.</summary>
    internal sealed class StoreRegistration(Func<IServiceProvider, IJobStore> factory)
    {
        private readonly Lock _gate = new();
        private IJobStore? _store;

        public IJobStore Get(IServiceProvider services)
        {
            if (Volatile.Read(ref _store) is { } store)
            {
                return store;
            }

            lock (_gate)
            {
                return _store ??= factory(services);
            }
        }
    }
}
