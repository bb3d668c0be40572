using System.Threading.Channels;

namespace JobRuntime.PostgreSql;

/// <summary>
/// Queues writes from many callers and applies whatever is queued in one call (one transaction);
/// each caller's task completes with its own result after that call returns, or fails with its error.
/// </summary>
/// <typeparam name="TItem">A queued write.</typeparam>
/// <typeparam name="TResult">Its result.</typeparam>
internal sealed class WriteBatcher<TItem, TResult>(Func<IReadOnlyList<TItem>, Task<TResult[]>> apply, int maxBatch)
{
    private readonly Channel<(TItem Item, TaskCompletionSource<TResult> Done)> _queue =
        Channel.CreateUnbounded<(TItem, TaskCompletionSource<TResult>)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Lock _gate = new();
    private Task? _loop;

    public Task<TResult> Enqueue(TItem item)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_loop is null)
        {
            lock (_gate)
            {
                _loop ??= Task.Run(LoopAsync);
            }
        }

        if (!_queue.Writer.TryWrite((item, done)))
        {
            throw new ObjectDisposedException(nameof(PostgreSqlJobStore));
        }

        return done.Task;
    }

    /// <summary>Stops taking writes and finishes the queued ones.</summary>
    public async Task CompleteAsync()
    {
        _queue.Writer.TryComplete();
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<(TItem Item, TaskCompletionSource<TResult> Done)>(maxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < maxBatch && reader.TryRead(out var queued))
            {
                batch.Add(queued);
            }

            try
            {
                var results = await apply(batch.ConvertAll(b => b.Item)).ConfigureAwait(false);
                for (int i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var (_, done) in batch)
                {
                    done.TrySetException(ex);
                }
            }
        }
    }
}
