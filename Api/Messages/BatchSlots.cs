using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Messages;

/// <summary>
/// The batch sends an Api works on at once (<see cref="MessagesOptions"/>): a few of each user's, and a few of all
/// users' together. A batch takes a slot of its user's first, then one of the Api's, so one agency sending many never
/// holds more than its own share of the Api's slots, nor more than that of the Api's queue: another agency's batch waits
/// behind at most two of each agency's.
/// </summary>
public sealed class BatchSlots(IOptions<MessagesOptions> options) : IDisposable
{
    private readonly MessagesOptions _options = options.Value;
    private readonly ConcurrencyLimiter _all = new(Slots(options.Value.ConcurrentBatches, options.Value.QueuedBatches));

    /// <summary>A user's slots, chained to the Api's (the chain does not own the Api's, which outlive it).</summary>
    public RateLimiter ForUser(long userId) =>
        RateLimiter.CreateChained(new ConcurrencyLimiter(Slots(_options.ConcurrentBatchesPerUser, _options.QueuedBatchesPerUser)), _all);

    public void Dispose() => _all.Dispose();

    private static ConcurrencyLimiterOptions Slots(int permits, int queued) =>
        new() { PermitLimit = permits, QueueLimit = queued, QueueProcessingOrder = QueueProcessingOrder.OldestFirst };
}
