using System.Threading.RateLimiting;
using GovSg.Api.Auth;
using Microsoft.Extensions.Options;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// The reads an Api runs at once (<see cref="RateLimitOptions"/>): a few of each user's live keys, a few of its test keys,
/// and a few of all together (<see cref="Slots{TCaller}"/>). The read limit bounds how many a user starts a second, not
/// how long each runs: a list deep into millions of messages, or a count of a day's pending callbacks, can take seconds
/// and holds a database connection meanwhile, so a burst of them would take every connection of the Api's pool, and
/// every agency's sends would wait for one. A read beyond the slots waits its turn holding nothing, up to
/// <see cref="RateLimitOptions.ReadSlotWait"/>; beyond that, or a full queue, 503. Live and test keys have slots of their
/// own, as they have read limits of their own: an agency's tests reading hard never hold up its production integration.
/// </summary>
public sealed class ReadSlots(IOptions<RateLimitOptions> options) : IDisposable
{
    private readonly Slots<(long UserId, string KeyType)> _slots = new(options.Value.ConcurrentReadsPerUser,
        options.Value.QueuedReadsPerUser, options.Value.ConcurrentReads, options.Value.QueuedReads);

    /// <summary>A slot for one of the caller's reads; null when none came in time or a queue is full.</summary>
    public async Task<RateLimitLease?> AcquireAsync(Caller caller, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(options.Value.ReadSlotWait);
        try
        {
            var lease = await _slots.AcquireAsync((caller.UserId, caller.KeyType), wait.Token);
            if (lease.IsAcquired)
            {
                return lease;
            }

            lease.Dispose();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Waited ReadSlotWait: refused, like a full queue.
        }

        return null;
    }

    public void Dispose() => _slots.Dispose();
}
