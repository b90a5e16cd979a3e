using System.Threading.Channels;
using Npgsql;

// Compiled into the Dispatcher too (its project defines GOVSG_DISPATCHER), in a namespace of its own there, so the
// tests, which reference both services, see two distinct types.
#if GOVSG_DISPATCHER
namespace GovSg.Dispatcher.Sending;
#else
namespace GovSg.Api.Database;
#endif

/// <summary>
/// Coalesces concurrent single operations into one ("smart batching"): single-row statements into one statement, single
/// sends' commands into one publish, and in the Dispatcher single send commands into one claim. A batch is whatever
/// queued up while the previous one was running, so a lone request goes at once and heavy load forms large batches —
/// fewer round trips, commits and confirms, the same answers.
/// A batch the server refuses for its data is run again item by item, so one bad item fails only its caller; any other
/// failure fails each caller of the batch with the same exception.
/// </summary>
public sealed class Batcher<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<(TItem Item, TaskCompletionSource<TResult> Result)> _queue =
        Channel.CreateUnbounded<(TItem, TaskCompletionSource<TResult>)>(new UnboundedChannelOptions { SingleReader = false });

    private readonly Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> _execute;
    private readonly int _maxBatch;
    private readonly Task[] _workers;

    /// <param name="execute">Runs one batch; returns one result per item, in order.</param>
    /// <param name="maxBatch">The most items in one batch: one statement, or one publish.</param>
    /// <param name="concurrency">How many batches may be in flight at once.</param>
    public Batcher(Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> execute, int maxBatch, int concurrency)
    {
        _execute = execute;
        _maxBatch = maxBatch;
        // The workers outlive whoever first needs this batcher (a request, a consumed message): they must not carry its
        // trace into every later batch.
        using (ExecutionContext.SuppressFlow())
        {
            _workers = [.. Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkAsync))];
        }
    }

    /// <summary>Items waiting for a batch, not counting those of the batches in flight.</summary>
    public int Queued => _queue.Reader.Count;

    public Task<TResult> RunAsync(TItem item)
    {
        var result = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((item, result)))
        {
            result.SetException(new ObjectDisposedException(nameof(Batcher<TItem, TResult>)));
        }

        return result.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_workers);
    }

    private async Task WorkAsync()
    {
        var batch = new List<(TItem Item, TaskCompletionSource<TResult> Result)>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                var results = await _execute(batch.Select(e => e.Item).ToList());
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Result.SetResult(results[i]);
                }
            }
            catch (PostgresException exception) when (batch.Count > 1 && exception.SqlState[..2] is "22" or "23")
            {
                // The server refused the statement for its data (SQLSTATE classes 22 and 23), so nothing of it was
                // written: run each item alone, so that an item the database rejects fails only its own caller.
                foreach (var (item, result) in batch)
                {
                    await RunAloneAsync(item, result);
                }
            }
            catch (Exception exception)
            {
                foreach (var (_, result) in batch)
                {
                    result.TrySetException(exception);
                }
            }

            batch.Clear();
        }
    }

    private async Task RunAloneAsync(TItem item, TaskCompletionSource<TResult> result)
    {
        try
        {
            result.SetResult((await _execute([item]))[0]);
        }
        catch (Exception exception)
        {
            result.TrySetException(exception);
        }
    }
}
