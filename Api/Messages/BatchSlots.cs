using System.Threading.RateLimiting;
using GovSg.Api.RateLimiting;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Messages;

/// <summary>
/// The batch sends an Api works on at once (<see cref="MessagesOptions"/>): a few of each user's, and a few of all
/// users' together (<see cref="Slots{TCaller}"/>), so another agency's batch waits behind at most two of each agency's.
/// </summary>
public sealed class BatchSlots(IOptions<MessagesOptions> options) : IDisposable
{
    private readonly Slots<long> _slots = new(options.Value.ConcurrentBatchesPerUser, options.Value.QueuedBatchesPerUser,
        options.Value.ConcurrentBatches, options.Value.QueuedBatches);

    /// <summary>A slot for one of the user's batches, once there is one; not acquired when the queues are full.</summary>
    public ValueTask<RateLimitLease> AcquireAsync(long userId, CancellationToken cancellationToken) =>
        _slots.AcquireAsync(userId, cancellationToken);

    /// <summary>The Api's slots free now (a batch holds one from before its body is read until it is answered).</summary>
    internal long Free => _slots.Free;

    public void Dispose() => _slots.Dispose();
}
