namespace JobRuntime;

/// <summary>What happens to a job when one of its parents fails, is cancelled or times out.</summary>
public enum DependencyFailureBehavior
{
    /// <summary>The job is cancelled without running (the default).</summary>
    Cancel = 0,

    /// <summary>The job runs once every parent is terminal, whatever their outcome.</summary>
    Run = 1,
}
