namespace JobRuntime;

/// <summary>A submitted ad-hoc task: its id, its eventual result, and a way to cancel it.</summary>
/// <typeparam name="T">The task's value type.</typeparam>
public sealed class WorkerTask<T>
{
    private readonly CancellationTokenSource _cancel;

    internal WorkerTask(JobId id, string name, Task<WorkerResult<T>> completion, CancellationTokenSource cancel)
    {
        Id = id;
        Name = name;
        Completion = completion;
        _cancel = cancel;
    }

    /// <summary>The task's id (also its id in thread dumps).</summary>
    public JobId Id { get; }

    /// <summary>The task's name.</summary>
    public string Name { get; }

    /// <summary>Completes with the result on every exit path; never faults.</summary>
    public Task<WorkerResult<T>> Completion { get; }

    /// <summary>Cancels the task: a pending one never runs, a running one has its token tripped. Harmless when finished.</summary>
    public void Cancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }
    }
}
