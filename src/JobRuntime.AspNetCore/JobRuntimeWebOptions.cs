namespace JobRuntime;

/// <summary>How <c>MapJobRuntime</c> exposes the runtime over HTTP.</summary>
public sealed class JobRuntimeWebOptions
{
    /// <summary>
    /// The authorization policy every route requires. Without one, only local requests (from the
    /// machine itself) are allowed, as Hangfire's dashboard does by default.
    /// </summary>
    /// <value>Default: <see langword="null"/> (local requests only).</value>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>Refuses every change (submit, cancel, re-run, delete) with 403: a view for operators who must not act.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool ReadOnly { get; set; }

    /// <summary>The largest submit body accepted, in bytes; larger ones are refused with 413.</summary>
    /// <value>Default: 1 MiB.</value>
    public long MaxSubmitBytes { get; set; } = 1 << 20;
}
