namespace JobRuntime;

/// <summary>One page of a job listing.</summary>
/// <param name="Items">The jobs, newest first.</param>
/// <param name="NextCursor">The cursor for the next page, or <see langword="null"/> when this page is the last.</param>
public sealed record JobPage(IReadOnlyList<JobSnapshot> Items, JobId? NextCursor)
{
    /// <summary>
    /// Makes a page from up to <paramref name="pageSize"/> + 1 jobs read newest first (a store reads
    /// one more than the page to learn whether another page follows).
    /// </summary>
    /// <param name="items">The jobs read, newest first; the extra one, if any, is removed.</param>
    /// <param name="pageSize">The page size asked for.</param>
    /// <returns>The page, with a cursor when more jobs follow.</returns>
    public static JobPage FromOneMore(List<JobSnapshot> items, int pageSize)
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
