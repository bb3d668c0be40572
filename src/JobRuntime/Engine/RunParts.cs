namespace JobRuntime.Engine;

/// <summary>
/// The engine's parts a <see cref="JobRun"/> calls while it runs, one shared instance (a run holds
/// one reference, not one per part): the handler invoker, the hang reporter at its deadline, the
/// outcome recorder at its end, and the notifier and lease keeper for what the handler reports.
/// </summary>
internal sealed class RunParts(
    HandlerInvoker invoker,
    HangReporter hangs,
    OutcomeRecorder recorder,
    LifecycleNotifier notifier,
    LeaseKeeper leases,
    TimeProvider time,
    JobRuntimeOptions options,
    Microsoft.Extensions.DependencyInjection.IServiceScopeFactory scopes)
{
    /// <summary>Makes each attempt's DI scope (on first use).</summary>
    public Microsoft.Extensions.DependencyInjection.IServiceScopeFactory Scopes { get; } = scopes;

    public HandlerInvoker Invoker { get; } = invoker;

    public HangReporter Hangs { get; } = hangs;

    public OutcomeRecorder Recorder { get; } = recorder;

    public LifecycleNotifier Notifier { get; } = notifier;

    public LeaseKeeper Leases { get; } = leases;

    public double ProgressPercentStep { get; } = options.ProgressPersistPercentStep;

    /// <summary>The runtime's serializer settings (a handler's parents' results).</summary>
    public System.Text.Json.JsonSerializerOptions SerializerOptions { get; } = options.SerializerOptions;

    /// <summary>This process's worker name: the owner of the jobs it claims.</summary>
    public string WorkerName { get; } = options.WorkerName;

    /// <summary>How long a claim's lease lasts before it is renewed.</summary>
    public TimeSpan LeaseDuration { get; } = options.LeaseDuration;

    public DateTimeOffset Now => time.GetUtcNow();
}
