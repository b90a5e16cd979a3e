using System.Collections.Concurrent;
using GovSg.Api.Extensions;
using GovSg.Api.Http;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Auth;

/// <summary>
/// Turns an Authorization header into a <see cref="Caller"/> or the error to answer with. Verified keys are kept for
/// <see cref="AuthOptions.KeyCacheDuration"/> so the hot path does not query PostgreSQL per request; revocation, expiry
/// and disabling therefore take effect within that time. Key ids refused (not found, or a wrong secret) are remembered
/// for <see cref="AuthOptions.UnknownKeyCacheDuration"/>. <c>last_used_at</c> is written at most once a minute per key.
/// </summary>
public sealed class ApiKeyVerifier(ApiKeyStore store, IOptions<AuthOptions> options, TimeProvider time)
{
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private readonly byte[] _pepper = options.Value.PepperBytes;
    private readonly ShortLivedCache<string, ApiKeyRow> _cache = new(options.Value.KeyCacheDuration, time);
    private readonly RefusedKeyIds _refused = new(options.Value.UnknownKeyCacheDuration, time);
    private readonly ConcurrentDictionary<long, DateTime> _lastTouched = new();

    public async Task<(Caller? Caller, ApiError? Error)> VerifyAsync(string authorization, CancellationToken cancellationToken)
    {
        const string scheme = "Bearer ";
        if (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return (null, ApiError.Unauthenticated("Authorization header must be 'Bearer <api key>'"));
        }

        if (!ApiKeys.TryParse(authorization.AsSpan(scheme.Length).Trim(), out var keyId, out var secret))
        {
            return (null, InvalidKey);
        }

        if (_refused.TryGet(keyId, out var refusedHash) && (refusedHash is null || !ApiKeys.Matches(_pepper, secret, refusedHash)))
        {
            return (null, InvalidKey);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var row = await _cache.GetOrLoadAsync(keyId, () => store.FindAsync(keyId, CancellationToken.None), cancellationToken);
        if (row is null)
        {
            _refused.Add(keyId);
            return (null, InvalidKey);
        }

        if (!ApiKeys.Matches(_pepper, secret, row.SecretHash))
        {
            _refused.Add(keyId, row.SecretHash);
            return (null, InvalidKey);
        }

        if (row.RevokedAt is not null)
        {
            return (null, Revoked);
        }

        if (row.ValidUntil <= now)
        {
            return (null, ApiError.Unauthenticated("API key has expired"));
        }

        if (row.UserDisabledAt is not null || row.KeyDisabledAt is not null)
        {
            return (null, Disabled);
        }

        await TouchAsync(row.Id, now, cancellationToken);
        return (new Caller(row.UserId, row.Id, row.RateLimitPerSecond, row.RateLimitBurst, row.DefaultWaitSeconds,
            row.MessageValidity, row.KeyType), null);
    }

    /// <summary>Stops trusting a key this replica has just revoked; other replicas notice within the cache time.</summary>
    public void Forget(string keyId) => _cache.Forget(keyId);

    /// <summary>What a revoked key is answered.</summary>
    public static ApiError Revoked => ApiError.Unauthenticated("API key has been revoked");

    /// <summary>What a disabled key, or a key of a disabled user, is answered.</summary>
    public static ApiError Disabled => ApiError.Unauthorized("This user or API key has been disabled by an operator");

    private static ApiError InvalidKey => ApiError.Unauthenticated("Invalid API key");

    private async Task TouchAsync(long id, DateTime now, CancellationToken cancellationToken)
    {
        if (_lastTouched.TryGetValue(id, out var last) && now - last < TouchInterval)
        {
            return;
        }

        _lastTouched[id] = now;
        await store.TouchAsync(id, now, cancellationToken);
    }
}
