using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Messages;

/// <summary>
/// The batch sends an Api works on at once (<see cref="MessagesOptions"/>): a few of each user's, and a few of all
/// users' together. A batch takes a slot of its user's first, then one of the Api's, so one agency sending many never
/// holds more than its own share of the Api's slots, nor more than that of the Api's queue: another agency's batch waits
/// behind at most two of each agency's.
/// </summary>
public sealed class BatchSlots : IDisposable
{
    private readonly MessagesOptions _options;
    private readonly ConcurrencyLimiter _all;
    private readonly PartitionedRateLimiter<long> _byUser;

    public BatchSlots(IOptions<MessagesOptions> options)
    {
        _options = options.Value;
        _all = new(Slots(_options.ConcurrentBatches, _options.QueuedBatches));
        _byUser = PartitionedRateLimiter.Create<long, long>(userId => RateLimitPartition.Get(userId, ForUser));
    }

    /// <summary>A slot for one of the user's batches, once there is one; not acquired when the queues are full.</summary>
    public ValueTask<RateLimitLease> AcquireAsync(long userId, CancellationToken cancellationToken) =>
        _byUser.AcquireAsync(userId, 1, cancellationToken);

    /// <summary>The Api's slots free now (a batch holds one from before its body is read until it is answered).</summary>
    internal long Free => _all.GetStatistics()!.CurrentAvailablePermits;

    public void Dispose()
    {
        _byUser.Dispose();
        _all.Dispose();
    }

    /// <summary>A user's slots, chained to the Api's (the chain does not own the Api's, which outlive it).</summary>
    private RateLimiter ForUser(long userId) =>
        RateLimiter.CreateChained(new ConcurrencyLimiter(Slots(_options.ConcurrentBatchesPerUser, _options.QueuedBatchesPerUser)), _all);

    private static ConcurrencyLimiterOptions Slots(int permits, int queued) =>
        new() { PermitLimit = permits, QueueLimit = queued, QueueProcessingOrder = QueueProcessingOrder.OldestFirst };
}
