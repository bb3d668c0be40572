using System.Text.Json;

namespace JobRuntime;

/// <summary>Options of the job runtime. Validated when the host starts; every error is reported at once.</summary>
public sealed class JobRuntimeOptions
{
    /// <summary>The most jobs running at once in this process.</summary>
    /// <value>Default: <see cref="Environment.ProcessorCount"/>.</value>
    public int MaxConcurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>Per-queue limits on jobs running at once, within <see cref="MaxConcurrency"/>. Queues not listed share the global limit.</summary>
    /// <value>Default: empty.</value>
    public IDictionary<string, int> QueueConcurrency { get; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>The queues this process claims from; empty for all.</summary>
    /// <value>Default: empty (all queues).</value>
    public ISet<string> Queues { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The queue of jobs submitted without one.</summary>
    /// <value>Default: "default".</value>
    public string DefaultQueue { get; set; } = "default";

    /// <summary>How many attempts a job makes unless its handler or submit says otherwise (1 = no retry).</summary>
    /// <value>Default: 1.</value>
    public int DefaultMaxAttempts { get; set; } = 1;

    /// <summary>The back-off before the first retry; it doubles with every attempt.</summary>
    /// <value>Default: 2 seconds.</value>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest back-off between attempts.</summary>
    /// <value>Default: 10 minutes.</value>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The random spread of a back-off, as a fraction: 0.2 means ±20 %.</summary>
    /// <value>Default: 0.2.</value>
    public double RetryJitter { get; set; } = 0.2;

    /// <summary>Where retry jitter draws its numbers (in [0, 1)): a seeded source makes retry times reproducible in tests.</summary>
    /// <value>Default: <see langword="null"/>, for <see cref="Random.Shared"/>.</value>
    public Func<double>? RetryRandom { get; set; }

    /// <summary>The time limit of one attempt unless the handler or submit sets one; <see langword="null"/> for none.</summary>
    /// <value>Default: none.</value>
    public TimeSpan? DefaultTimeout { get; set; }

    /// <summary>How long a timed-out or shut-down job may take to stop after its token is tripped before it is abandoned.</summary>
    /// <value>Default: 5 seconds.</value>
    public TimeSpan CancellationGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long shutdown waits for running jobs before cancelling them. Under the generic host, never
    /// longer than the host's <c>HostOptions.ShutdownTimeout</c> minus <see cref="CancellationGracePeriod"/>
    /// and one second to hand the cancelled jobs back, so that all of it ends within the host's timeout.
    /// </summary>
    /// <value>Default: 30 seconds.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often the dispatcher looks for due jobs when nothing woke it (other processes' submits, for example).
    /// Each wait is jittered to between 80 % and 100 % of this, so that nodes started together do not poll in step.
    /// </summary>
    /// <value>Default: 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often <see cref="IJobManager.WatchBatchAsync"/> reads a batch's counts from the store (one
    /// grouped count of its members); a status is streamed only when it changed.
    /// </summary>
    /// <value>Default: 250 milliseconds.</value>
    public TimeSpan BatchRefreshInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a claim's lease lasts unless renewed. Running jobs renew it every third of this.</summary>
    /// <value>Default: 30 seconds.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often expired leases are looked for (jobs of workers that died).</summary>
    /// <value>Default: 15 seconds.</value>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Finished jobs older than this are deleted automatically (checked every
    /// <see cref="RecoveryInterval"/>); <see langword="null"/> keeps them until <c>CleanupAsync</c>.
    /// </summary>
    /// <value>Default: <see langword="null"/> (keep).</value>
    public TimeSpan? RetainFinishedJobs { get; set; }

    /// <summary>The most time between two progress writes to the store for one job (subscribers still see every update live).</summary>
    /// <value>Default: 1 second.</value>
    public TimeSpan ProgressPersistInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A progress change of at least this many percentage points is written to the store without waiting for <see cref="ProgressPersistInterval"/>.</summary>
    /// <value>Default: 10.</value>
    public double ProgressPersistPercentStep { get; set; } = 10;

    /// <summary>
    /// Opt-in stall detection: a running job that reports no progress (nor stage) for this long
    /// gets a warning event carrying a thread dump, once per stall; the job keeps running.
    /// <see langword="null"/> turns it off.
    /// </summary>
    /// <value>Default: <see langword="null"/> (off).</value>
    public TimeSpan? StallTimeout { get; set; }

    /// <summary>
    /// Opt-in: on SIGQUIT (<c>kill -QUIT pid</c>, Ctrl+\ in a terminal) print a thread dump of the
    /// running jobs to standard error, as the JVM does, without stopping the process. Unix only.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool DumpOnSigquit { get; set; }

    /// <summary>
    /// Rate limit of all-thread captures (registered <see cref="ThreadDumps.IThreadDumpProvider"/>s such as
    /// JobRuntime.Diagnostics'): within this interval after one, a dump reuses its threads, completed
    /// with the asking job's thread, async chain and the overdue jobs, instead of capturing again.
    /// The dependency-free core capture is never rate limited. <see cref="TimeSpan.Zero"/> captures every time.
    /// </summary>
    /// <value>Default: 1 second.</value>
    public TimeSpan ThreadDumpMinimumInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many droppable events (progress, custom) each subscriber buffers before dropping the oldest.</summary>
    /// <value>Default: 64.</value>
    public int SubscriberBufferCapacity { get; set; } = 64;

    /// <summary>The name this process claims jobs under (recorded in leases).</summary>
    /// <value>Default: machine name, process id and a random suffix.</value>
    public string WorkerName { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>
    /// The serializer options of payloads and results. Add source-generated contexts to
    /// <see cref="JsonSerializerOptions.TypeInfoResolverChain"/>. Payloads are always read as the
    /// handler's declared argument type; no type names are taken from payload data.
    /// </summary>
    /// <value>Default: <see cref="JsonSerializerDefaults.Web"/>.</value>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);
}
