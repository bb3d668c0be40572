namespace JobRuntime;

/// <summary>
/// A filter and page request for listing jobs. Results are ordered newest first; pass the
/// previous page's <see cref="JobPage.NextCursor"/> as <see cref="After"/> to get the next page.
/// </summary>
public sealed record JobQuery
{
    /// <summary>The largest page size accepted.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>Only jobs in one of these states; empty for all.</summary>
    public IReadOnlyList<JobStatus> Statuses { get; init; } = [];

    /// <summary>Only jobs of this type.</summary>
    public string? Type { get; init; }

    /// <summary>Only jobs in this queue.</summary>
    public string? Queue { get; init; }

    /// <summary>Only jobs carrying this tag.</summary>
    public string? Tag { get; init; }

    /// <summary>Only jobs that were submitted to run after this job (listed it in <see cref="JobSubmitOptions.DependsOn"/>): its dependents.</summary>
    public JobId? DependsOn { get; init; }

    /// <summary>Only the members of this batch (<see cref="IJobManager.SubmitBatchAsync"/>), not its head.</summary>
    public JobId? BatchId { get; init; }

    /// <summary>Only jobs created at or after this time.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    /// <summary>Only jobs created before this time.</summary>
    public DateTimeOffset? CreatedBefore { get; init; }

    /// <summary>Return jobs older than this id (the cursor of the previous page).</summary>
    public JobId? After { get; init; }

    /// <summary>The page size, 1 to <see cref="MaxPageSize"/>. Default: 100.</summary>
    public int PageSize { get; init; } = 100;

    /// <summary>Throws when the query cannot be served.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The page size is out of range.</exception>
    public void Validate()
    {
        if (PageSize is < 1 or > MaxPageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(PageSize), PageSize, $"The page size must be between 1 and {MaxPageSize}.");
        }
    }
}
