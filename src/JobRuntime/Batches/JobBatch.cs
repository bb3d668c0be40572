using System.Text.Json;

namespace JobRuntime;

/// <summary>
/// Jobs to submit together with <see cref="IJobManager.SubmitBatchAsync"/>: stored all or none in one
/// transaction, followed as one (<see cref="IJobManager.WatchBatchAsync"/>), cancelled as one, and
/// optionally continued by a job that runs once every member has finished, whatever their outcome.
/// </summary>
/// <example>
/// <code>
/// var batch = new JobBatch { Title = "Nightly exports" };
/// foreach (var customer in customers)
/// {
///     batch.Add(new ExportArgs(customer.Id));
/// }
///
/// batch.ContinueWith(new NotifyArgs("exports done"));
/// var submitted = await jobs.SubmitBatchAsync(batch);
/// await foreach (var status in jobs.WatchBatchAsync(submitted.BatchId))
/// {
///     Console.WriteLine($"{status.Finished}/{status.Total} {status.Progress:P0}");
/// }
/// </code>
/// </example>
/// <remarks>Not thread-safe: build it on one thread, then submit it.</remarks>
public sealed class JobBatch
{
    /// <summary>The most jobs one batch may hold.</summary>
    public const int MaxJobs = 100_000;

    /// <summary>The job type of a batch's head when no continuation is given: a built-in job that records the members' counts as its result.</summary>
    public const string HeadType = "jobruntime.batch";

    private readonly List<Entry> _jobs = [];

    /// <summary>A title for the batch (its head job's title unless the continuation has one).</summary>
    public string? Title { get; init; }

    /// <summary>Tags of the batch's head job.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>How many jobs the batch holds (the continuation aside).</summary>
    public int Count => _jobs.Count;

    /// <summary>The continuation, if one was given.</summary>
    internal Entry? Continuation { get; private set; }

    internal IReadOnlyList<Entry> Jobs => _jobs;

    /// <summary>Adds a job of the only registered type whose handler takes <typeparamref name="TArgs"/>.</summary>
    /// <typeparam name="TArgs">The handler's argument type.</typeparam>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Options (an idempotency key or a result cache is refused: a batch is stored whole).</param>
    /// <returns>This batch.</returns>
    /// <exception cref="InvalidOperationException">The batch already holds <see cref="MaxJobs"/> jobs.</exception>
    public JobBatch Add<TArgs>(TArgs args, JobSubmitOptions? options = null) => AddEntry(Entry.Typed(null, args, options));

    /// <summary>Adds a job of a registered type by name.</summary>
    /// <typeparam name="TArgs">The argument type given; it must be the handler's argument type (or derive from it).</typeparam>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Options.</param>
    /// <returns>This batch.</returns>
    /// <exception cref="InvalidOperationException">The batch already holds <see cref="MaxJobs"/> jobs.</exception>
    public JobBatch Add<TArgs>(string jobType, TArgs args, JobSubmitOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        return AddEntry(Entry.Typed(jobType, args, options));
    }

    /// <summary>Adds a job of a registered type with a JSON payload.</summary>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="payloadJson">The arguments as JSON; checked against the handler's argument type when the batch is submitted.</param>
    /// <param name="options">Options.</param>
    /// <returns>This batch.</returns>
    /// <exception cref="InvalidOperationException">The batch already holds <see cref="MaxJobs"/> jobs.</exception>
    public JobBatch AddJson(string jobType, string payloadJson, JobSubmitOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        ArgumentNullException.ThrowIfNull(payloadJson);
        return AddEntry(Entry.Json(jobType, payloadJson, options));
    }

    /// <summary>
    /// Sets the job that runs once every member has finished, whatever their outcome: the batch's head.
    /// Its handler reads the outcome with <c>IJobManager.GetBatchAsync(context.Job.BatchId!.Value)</c>.
    /// </summary>
    /// <typeparam name="TArgs">The continuation handler's argument type (the only registered type taking it).</typeparam>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Options (no <see cref="JobSubmitOptions.DependsOn"/>: it waits for the batch).</param>
    /// <returns>This batch.</returns>
    public JobBatch ContinueWith<TArgs>(TArgs args, JobSubmitOptions? options = null)
    {
        Continuation = Entry.Typed(null, args, options);
        return this;
    }

    /// <summary>Sets the continuation by job type name (see <see cref="ContinueWith{TArgs}(TArgs, JobSubmitOptions?)"/>).</summary>
    /// <typeparam name="TArgs">The argument type given.</typeparam>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Options.</param>
    /// <returns>This batch.</returns>
    public JobBatch ContinueWith<TArgs>(string jobType, TArgs args, JobSubmitOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        Continuation = Entry.Typed(jobType, args, options);
        return this;
    }

    /// <summary>Sets the continuation by job type name with a JSON payload (see <see cref="ContinueWith{TArgs}(TArgs, JobSubmitOptions?)"/>).</summary>
    /// <param name="jobType">The registered job type.</param>
    /// <param name="payloadJson">The arguments as JSON; checked against the handler's argument type when the batch is submitted.</param>
    /// <param name="options">Options.</param>
    /// <returns>This batch.</returns>
    public JobBatch ContinueWithJson(string jobType, string payloadJson, JobSubmitOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobType);
        ArgumentNullException.ThrowIfNull(payloadJson);
        Continuation = Entry.Json(jobType, payloadJson, options);
        return this;
    }

    private JobBatch AddEntry(Entry entry)
    {
        if (_jobs.Count >= MaxJobs)
        {
            throw new InvalidOperationException($"A batch holds at most {MaxJobs:N0} jobs; submit several batches.");
        }

        _jobs.Add(entry);
        return this;
    }

    /// <summary>One job of a batch, resolved and serialized when the batch is submitted.</summary>
    internal sealed class Entry
    {
        private Entry(string? jobType, Type argsType, Func<JobHandlerDescriptor, JsonSerializerOptions, string> payload, JobSubmitOptions? options)
        {
            JobType = jobType;
            ArgsType = argsType;
            Payload = payload;
            Options = options;
        }

        /// <summary>The job type given, or <see langword="null"/> to find it by <see cref="ArgsType"/>.</summary>
        public string? JobType { get; }

        public Type ArgsType { get; }

        /// <summary>Serializes (or checks) the arguments for the resolved handler.</summary>
        public Func<JobHandlerDescriptor, JsonSerializerOptions, string> Payload { get; }

        public JobSubmitOptions? Options { get; }

        public static Entry Typed<TArgs>(string? jobType, TArgs args, JobSubmitOptions? options)
            => new(jobType, typeof(TArgs), (descriptor, json) => descriptor.SerializeArgs(args, json), options);

        public static Entry Json(string jobType, string payloadJson, JobSubmitOptions? options)
            => new(jobType, typeof(string), (descriptor, json) =>
            {
                descriptor.ValidatePayload(payloadJson, json);
                return payloadJson;
            }, options);
    }
}

/// <summary>A stored batch (<see cref="IJobManager.SubmitBatchAsync"/>).</summary>
/// <param name="BatchId">The batch's id: its head job's id (the continuation's, when one was given).</param>
/// <param name="JobIds">The members' ids, in the order they were added.</param>
public sealed record JobBatchSubmitted(JobId BatchId, IReadOnlyList<JobId> JobIds);

/// <summary>One problem of a batch that was refused.</summary>
/// <param name="Index">The job's position in the batch (0-based), or -1 for the continuation.</param>
/// <param name="JobType">The job type, when it is known.</param>
/// <param name="Message">What is wrong.</param>
public sealed record JobBatchProblem(int Index, string? JobType, string Message)
{
    /// <inheritdoc />
    public override string ToString() => (Index < 0 ? "the continuation" : $"job {Index}") + (JobType is null ? "" : $" ('{JobType}')") + ": " + Message;
}

/// <summary>A batch was refused before anything was stored: every problem found, each naming its job.</summary>
public sealed class JobBatchRejectedException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="problems">The problems.</param>
    public JobBatchRejectedException(IReadOnlyList<JobBatchProblem> problems)
        : base(Describe(problems), "batch")
    {
        Problems = problems;
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<JobBatchProblem> Problems { get; }

    private static string Describe(IReadOnlyList<JobBatchProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        const int Shown = 20;
        var text = $"The batch was refused and nothing was stored ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}): "
            + string.Join(" ", problems.Take(Shown).Select(p => p.ToString()));
        return problems.Count > Shown ? text + $" … and {problems.Count - Shown} more (see Problems)." : text;
    }
}
