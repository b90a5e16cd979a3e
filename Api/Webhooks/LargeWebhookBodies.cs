using System.Threading.RateLimiting;

namespace GovSg.Api.Webhooks;

/// <summary>
/// The webhook bodies over <see cref="WebhookEndpoints.SmallBodyBytes"/> an Api reads at once: a few, each up to
/// 1 MiB, and none waiting (a waiting request holds Kestrel's buffer of its body too).
/// </summary>
public sealed class LargeWebhookBodies : IDisposable
{
    public const int Places = 8;

    private readonly ConcurrencyLimiter _places = new(new ConcurrencyLimiterOptions { PermitLimit = Places, QueueLimit = 0 });

    /// <summary>A place, if one is free (<see cref="RateLimitLease.IsAcquired"/>); disposed, it is free again.</summary>
    public RateLimitLease TryTake() => _places.AttemptAcquire();

    public void Dispose() => _places.Dispose();
}
