namespace JobRuntime.Storage;

/// <summary>Helpers for a store's <see cref="IJobStore.ListAsync"/>: the filter of a <see cref="JobQuery"/> and its paging.</summary>
public static class JobListing
{
    /// <summary>Whether a job matches the query's filter (paging aside), for stores that filter in memory.</summary>
    /// <param name="query">The query.</param>
    /// <param name="job">The job.</param>
    /// <returns><see langword="true"/> when the job matches.</returns>
    public static bool Matches(JobQuery query, JobSnapshot job)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(job);
        return (query.Statuses.Count == 0 || query.Statuses.Contains(job.Status))
            && (query.Type is null || string.Equals(query.Type, job.Type, StringComparison.Ordinal))
            && (query.Queue is null || string.Equals(query.Queue, job.Queue, StringComparison.Ordinal))
            && (query.Tag is null || job.Tags.Contains(query.Tag, StringComparer.Ordinal))
            && (query.DependsOn is not { } parent || job.DependsOn.Contains(parent))
            && (query.BatchId is not { } batch || (job.BatchId == batch && job.Id != batch))
            && (query.CreatedFrom is null || job.CreatedAt >= query.CreatedFrom)
            && (query.CreatedBefore is null || job.CreatedAt < query.CreatedBefore);
    }

    /// <summary>
    /// Makes a page from up to <paramref name="pageSize"/> + 1 jobs read newest first (a store reads
    /// one more than the page to learn whether another page follows).
    /// </summary>
    /// <param name="items">The jobs read, newest first; the extra one, if any, is removed.</param>
    /// <param name="pageSize">The page size asked for.</param>
    /// <returns>The page, with a cursor when more jobs follow.</returns>
    public static JobPage PageFromOneMore(List<JobSnapshot> items, int pageSize)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count <= pageSize)
        {
            return new JobPage(items, null);
        }

        items.RemoveRange(pageSize, items.Count - pageSize);
        return new JobPage(items, items[^1].Id);
    }
}
