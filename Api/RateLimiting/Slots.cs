using System.Threading.RateLimiting;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// Work an Api runs at once for its callers: a few of each caller's, and a few of all callers' together. A request takes
/// a slot of its caller's first, then one of the Api's, so one caller asking for many never holds more than its own
/// share of the Api's slots, nor of the Api's queue: another caller waits behind at most that share of each. Beyond a
/// queue, the lease comes back not acquired.
/// </summary>
public sealed class Slots<TCaller> : IDisposable where TCaller : notnull
{
    private readonly ConcurrencyLimiter _all;
    private readonly PartitionedRateLimiter<TCaller> _byCaller;
    private volatile bool _disposed;

    public Slots(int perCaller, int queuedPerCaller, int all, int queuedAll)
    {
        _all = new(Options(all, queuedAll));
        // A caller's slots, chained to the Api's (the chain does not own the Api's, which outlive it).
        _byCaller = PartitionedRateLimiter.Create<TCaller, TCaller>(caller => RateLimitPartition.Get(caller, _ =>
            System.Threading.RateLimiting.RateLimiter.CreateChained(new ConcurrencyLimiter(Options(perCaller, queuedPerCaller)), _all)));
    }

    /// <summary>The Api's slots free now.</summary>
    internal long Free => _all.GetStatistics()!.CurrentAvailablePermits;

    /// <summary>A slot for one of the caller's requests, once there is one; not acquired when a queue is full.</summary>
    public async ValueTask<RateLimitLease> AcquireAsync(TCaller caller, CancellationToken cancellationToken)
    {
        try
        {
            return await _byCaller.AcquireAsync(caller, 1, cancellationToken);
        }
        catch (ObjectDisposedException) when (!_disposed)
        {
            // A caller's limiter idle for 10 s is disposed by the partitioned limiter's timer, which can happen between
            // the partitioned limiter finding it and the acquire (dotnet/runtime#99865): the next call makes a new one.
            // (A chain's disposal leaves the caller's own limiter working, so an acquire that got past the chain's check
            // just before may still take a slot of it, beside the new one's: the caller holds one more for a moment,
            // within the Api's slots.)
            return await _byCaller.AcquireAsync(caller, 1, cancellationToken);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _byCaller.Dispose();
        _all.Dispose();
    }

    private static ConcurrencyLimiterOptions Options(int permits, int queued) =>
        new() { PermitLimit = permits, QueueLimit = queued, QueueProcessingOrder = QueueProcessingOrder.OldestFirst };
}
