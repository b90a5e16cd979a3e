using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// The reads an Api runs at once for one user (<see cref="RateLimitOptions.ConcurrentReadsPerUser"/>), live and test keys
/// together. The read limit bounds how many a user starts a second, not how long each runs: a list deep into millions
/// of messages, or a count of a day's pending callbacks, can take seconds and holds a database connection meanwhile, so
/// a burst of them from one agency would take every connection of the Api's pool, and other agencies' sends would wait
/// for one. A user's reads beyond its slots wait their turn here, holding nothing, up to
/// <see cref="RateLimitOptions.QueuedReadsPerUser"/>; beyond, 503.
/// </summary>
public sealed class ReadSlots(IOptions<RateLimitOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<long> _byUser = PartitionedRateLimiter.Create<long, long>(userId =>
        RateLimitPartition.GetConcurrencyLimiter(userId, _ => new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.ConcurrentReadsPerUser,
            QueueLimit = options.Value.QueuedReadsPerUser,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        }));

    /// <summary>A slot for one of the user's reads, once there is one; not acquired when the user's queue is full.</summary>
    public ValueTask<RateLimitLease> AcquireAsync(long userId, CancellationToken cancellationToken) =>
        _byUser.AcquireAsync(userId, 1, cancellationToken);

    public void Dispose() => _byUser.Dispose();
}
