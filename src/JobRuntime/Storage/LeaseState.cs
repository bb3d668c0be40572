namespace JobRuntime.Storage;

/// <summary>The answer of <see cref="IJobStore.RenewAsync"/>.</summary>
public enum LeaseState
{
    /// <summary>The lease is held and was extended.</summary>
    Active = 0,

    /// <summary>The lease is held and was extended, and a cancellation of the job was requested.</summary>
    CancellationRequested = 1,

    /// <summary>The lease was lost (the job was recovered, reclaimed, finished or deleted); nothing was written.</summary>
    Lost = 2,
}
