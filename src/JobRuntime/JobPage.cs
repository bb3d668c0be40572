namespace JobRuntime;

/// <summary>One page of a job listing.</summary>
/// <param name="Items">The jobs, newest first.</param>
/// <param name="NextCursor">The cursor for the next page, or <see langword="null"/> when this page is the last.</param>
public sealed record JobPage(IReadOnlyList<JobSnapshot> Items, JobId? NextCursor);
