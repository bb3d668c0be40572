using JobRuntime.Storage;

namespace JobRuntime.Engine;

/// <summary>
/// One running attempt: its lease, live progress and artifacts, and the executor's work item that
/// holds its slot (one object per run rather than one per layer). The executor calls it twice into
/// the engine: <see cref="RunAsync"/> (the handler) and <see cref="Finished"/> (the outcome). It
/// is its own lock (internal, never handed out: handlers see it only as <see cref="IJobRunSink"/>).
/// </summary>
internal sealed class JobRun : JobWorkItem, IJobRunSink, IServiceProvider
{
    private readonly RunParts _parts;
    private readonly JobHandlerDescriptor? _descriptor;
    private JobProgress? _progress;
    private Reports? _reports;
    private bool _ended;
    private LazyServiceScope _services;

    /// <summary>A run of a job claimed from a store through the store contract, with its lease.</summary>
    public JobRun(ClaimedJob claimed, JobHandlerDescriptor? descriptor, RunParts parts, DateTimeOffset now)
        : this(claimed.Job, claimed.Job.Attempt, descriptor, parts, now)
    {
        _job = claimed.Job;
        _leaseOrRecord = claimed.Lease;
    }

    /// <summary>
    /// A run of a job claimed from the in-memory store: its claim number stands for the lease, and its
    /// running snapshot is made from the waiting one only if read (both made on first use).
    /// </summary>
    public JobRun(InMemoryJobStore.LocalClaim claim, JobHandlerDescriptor? descriptor, RunParts parts)
        : this(claim.Pending, claim.Pending.Attempt + 1, descriptor, parts, new DateTimeOffset(claim.StartedAt, TimeSpan.Zero))
    {
        LocalClaim = claim.Claim;
        _leaseOrRecord = claim.Entry;
    }

    private JobRun(JobSnapshot definition, int attempt, JobHandlerDescriptor? descriptor, RunParts parts, DateTimeOffset now)
    {
        _parts = parts;
        _descriptor = descriptor;
        Definition = definition;
        Attempt = attempt;
        _progress = definition.Progress;
        _claimedAt = now.UtcTicks;
    }

    /// <summary>When the job last reported progress or a stage (or started); written by the job, read by the heartbeat.</summary>
    public DateTimeOffset LastActivity
    {
        get => new(Volatile.Read(ref _reports) is { } reports ? Volatile.Read(ref reports.LastActivity) : _claimedAt, TimeSpan.Zero);
        private set => Volatile.Write(ref GetReports().LastActivity, value.UtcTicks);
    }

    /// <summary>Whether the current stall was already reported.</summary>
    public bool StallReported { get; set; }

    /// <summary>
    /// The job as claimed (status running, this attempt). For a run claimed in memory it is made on first
    /// read: what the engine reads on every run comes from <see cref="Definition"/> and <see cref="Attempt"/>.
    /// </summary>
    public JobSnapshot Job => Volatile.Read(ref _job)
        ?? Interlocked.CompareExchange(ref _job, InMemoryJobStore.Running(Definition, _parts.WorkerName, new DateTimeOffset(_claimedAt, TimeSpan.Zero)), null)
        ?? _job!;

    private JobSnapshot? _job;

    /// <summary>The job's submit-time fields (id, type, queue, arguments, timeout, parents, retry timing …): what no attempt changes.</summary>
    public JobSnapshot Definition { get; }

    /// <summary>This attempt's number, from 1.</summary>
    public int Attempt { get; }

    private readonly long _claimedAt;   // UTC ticks: the running snapshot's start

    /// <summary>The job type's registration (<see langword="null"/> when no handler serves the type).</summary>
    public JobHandlerDescriptor? Descriptor => _descriptor;

    public override JobId JobId => Definition.Id;

    public override string Name => Definition.Type;

    public override string? Queue => Definition.Queue;

    public override bool DedicatedThread => _descriptor?.Options.DedicatedThread ?? false;

    public override TimeSpan? Timeout => Definition.Timeout;

    public override bool HasDeadlineAction => Definition.Timeout is not null;

    /// <summary>The run's trace activity, if anyone listens; stopped once the outcome is written.</summary>
    public System.Diagnostics.Activity? Activity
    {
        get => Volatile.Read(ref _reports)?.Activity;
        set
        {
            if (value is not null || Volatile.Read(ref _reports) is not null)
            {
                GetReports().Activity = value;
            }
        }
    }

    /// <summary>The lease the attempt runs under.</summary>
    /// <remarks>A run claimed in memory has none until asked: it is made from the claim number on each use (only a renewal asks).</remarks>
    public JobLease Lease => _leaseOrRecord as JobLease
        ?? new JobLease(JobId, _parts.WorkerName, InMemoryJobStore.LeaseToken(LocalClaim), new DateTimeOffset(_claimedAt, TimeSpan.Zero) + _parts.LeaseDuration);

    // The lease of a run claimed through the store contract, or the in-memory store's record of the job: one field for either.
    private readonly object? _leaseOrRecord;

    /// <summary>For a run claimed from the in-memory store, the claim that started it (<see cref="InMemoryJobStore.Complete"/> is fenced by it); else 0.</summary>
    public long LocalClaim { get; }

    /// <summary>For a run claimed from the in-memory store, the store's record of the job (opaque here); else <see langword="null"/>.</summary>
    public object? LocalEntry => LocalClaim != 0 ? _leaseOrRecord : null;

    /// <summary>When the lease was last renewed (the claim's time until then). Written by the lease keeper only.</summary>
    public DateTimeOffset LastRenewal
    {
        get => new(Volatile.Read(ref _reports) is { } reports ? Volatile.Read(ref reports.LastRenewal) : _claimedAt, TimeSpan.Zero);
        set => Volatile.Write(ref GetReports().LastRenewal, value.UtcTicks);
    }

    public bool LeaseLost { get; set; }

    /// <summary>While the dump of the job's deadline is being made, a task that completes when it is; else <see langword="null"/>.</summary>
    public Task? TimeoutDumpPending { get => Volatile.Read(ref _reports)?.TimeoutDumpPending; set => Volatile.Write(ref GetReports().TimeoutDumpPending, value); }

    /// <summary>The dump captured at the job's deadline, if it timed out.</summary>
    public ThreadDumps.ThreadDump? TimeoutDump { get => Volatile.Read(ref _reports)?.TimeoutDump; set => Volatile.Write(ref GetReports().TimeoutDump, value); }

    /// <summary>Set when the attempt ended; later reports are discarded.</summary>
    public bool Ended { get => Volatile.Read(ref _ended); set => Volatile.Write(ref _ended, value); }

    public JobProgress? Progress
    {
        get
        {
            lock (this)
            {
                return _progress;
            }
        }
    }

    /// <summary>
    /// Whether the attempt left nothing to record but its result: no progress reported, no artifact
    /// (a success then needs no <see cref="JobCompletion"/> in memory).
    /// </summary>
    public bool LeftOnlyResult
    {
        get
        {
            lock (this)
            {
                return ReferenceEquals(_progress, Definition.Progress) && _reports?.Artifacts is not { Count: > 0 };
            }
        }
    }

    public IReadOnlyList<JobArtifact> Artifacts
    {
        get
        {
            lock (this)
            {
                return _reports?.Artifacts is { } artifacts ? [.. artifacts] : [];
            }
        }
    }

    CancellationToken IJobRunSink.CancellationToken => Token;

    IServiceProvider IJobRunSink.Services => this;

    System.Text.Json.JsonSerializerOptions IJobRunSink.SerializerOptions => _parts.SerializerOptions;

    /// <summary>The attempt's DI scope (<see cref="JobContext.Services"/>), made on first use.</summary>
    public object? GetService(Type serviceType) => _services.GetService(_parts.Scopes, serviceType);

    /// <summary>Disposes the attempt's scope, if one was made.</summary>
    public ValueTask DisposeServicesAsync() => _services.DisposeAsync();

    public override ValueTask<object?> RunAsync(CancellationToken cancellationToken) => _parts.Invoker.InvokeAsync(this, _descriptor, cancellationToken);

    public override Task OnDeadlineAsync(CancellationToken cancellationToken) => _parts.Hangs.CaptureTimeoutAsync(this, cancellationToken);

    // The outcome is read as a value: no result object per run.
    private protected override bool KeepsResult => false;

    private protected override void Finished(in RunOutcome outcome) => _parts.Recorder.Record(this, outcome);

    public void ReportProgress(long current, long total, string? message)
    {
        JobProgress progress;
        bool flushNow;
        lock (this)
        {
            if (Ended)
            {
                return;
            }

            progress = new JobProgress(current, total, message, _reports?.Stage);
            _progress = progress;
            LastActivity = _parts.Now;
            StallReported = false;
            flushNow = (progress.Percentage ?? 0) - (Persisted?.Percentage ?? 0) >= _parts.ProgressPercentStep;
        }

        _parts.Notifier.Progress(this, progress);
        if (flushNow)
        {
            _parts.Leases.RequestFlush();
        }
    }

    public void SetStage(string stage)
    {
        JobProgress progress;
        lock (this)
        {
            if (Ended)
            {
                return;
            }

            GetReports().Stage = stage;
            progress = (_progress ?? JobProgress.None) with { Stage = stage };
            _progress = progress;
            LastActivity = _parts.Now;
            StallReported = false;
        }

        _parts.Notifier.StageChanged(this, progress, stage);
        _parts.Leases.RequestFlush();
    }

    public void PublishCustom(string name, object? data)
    {
        if (!Ended)
        {
            _parts.Notifier.Custom(this, name, data);
        }
    }

    public void AddArtifact(JobArtifact artifact)
    {
        lock (this)
        {
            if (!Ended)
            {
                (GetReports().Artifacts ??= []).Add(artifact);
            }
        }
    }

    /// <summary>The progress to write now, if it changed and the throttle allows; marks it written.</summary>
    public JobProgress? TakeProgressToPersist(DateTimeOffset now, TimeSpan interval, double percentStep)
    {
        lock (this)
        {
            var persisted = Persisted;
            if (_progress is null || ReferenceEquals(_progress, persisted))
            {
                return null;
            }

            var stageChanged = _progress.Stage != persisted?.Stage;
            var bigStep = (_progress.Percentage ?? 0) - (persisted?.Percentage ?? 0) >= percentStep;
            if (!stageChanged && !bigStep && now.UtcTicks - (_reports?.PersistedAt ?? _claimedAt) < interval.Ticks)
            {
                return null;
            }

            var reports = GetReports();
            reports.Persisted = _progress;
            reports.PersistedAt = now.UtcTicks;
            return _progress;
        }
    }

    /// <summary>The progress last written to the store (the claimed job's until the first write).</summary>
    private JobProgress? Persisted => _reports?.Persisted ?? Definition.Progress;

    private Reports GetReports() => Volatile.Read(ref _reports)
        ?? Interlocked.CompareExchange(ref _reports, new Reports { PersistedAt = _claimedAt, LastActivity = _claimedAt, LastRenewal = _claimedAt }, null)
        ?? _reports!;

    /// <summary>
    /// What a run that reports progress or a stage, attaches artifacts, is traced, renews its lease or times out keeps: one
    /// object made on first use (a short job that does none of it never pays for the fields).
    /// </summary>
    private sealed class Reports
    {
        public JobProgress? Persisted;
        public long PersistedAt;    // UTC ticks: the claim's time, then the last write
        public long LastActivity;   // UTC ticks: the claim's time, then the last progress or stage
        public long LastRenewal;    // UTC ticks: the claim's time, then the last renewal
        public System.Diagnostics.Activity? Activity;
        public string? Stage;
        public List<JobArtifact>? Artifacts;
        public ThreadDumps.ThreadDump? TimeoutDump;
        public Task? TimeoutDumpPending;
    }
}
