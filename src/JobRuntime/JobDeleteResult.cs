namespace JobRuntime;

/// <summary>What a delete did.</summary>
public enum JobDeleteResult
{
    /// <summary>There is no job with that id.</summary>
    NotFound = 0,

    /// <summary>The job was deleted.</summary>
    Deleted = 1,

    /// <summary>The job has not finished; nothing was deleted.</summary>
    NotFinished = 2,
}
