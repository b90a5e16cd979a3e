using System.Collections.Concurrent;
using GovSg.Api.Http;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Auth;

/// <summary>
/// Turns an Authorization header into a <see cref="Caller"/> or the error to answer with. Verified keys are kept for
/// <see cref="AuthOptions.KeyCacheDuration"/> so the hot path does not query PostgreSQL per request; revocation, expiry
/// and disabling therefore take effect within that time. <c>last_used_at</c> is written at most once a minute per key.
/// </summary>
public sealed class ApiKeyVerifier(ApiKeyStore store, IOptions<AuthOptions> options, TimeProvider time)
{
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private readonly byte[] _pepper = options.Value.PepperBytes;
    private readonly TimeSpan _cacheDuration = options.Value.KeyCacheDuration;
    private readonly ConcurrentDictionary<string, CachedKey> _cache = new(StringComparer.Ordinal);
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

        var now = time.GetUtcNow().UtcDateTime;
        var row = await FindAsync(keyId, now, cancellationToken);
        if (row is null || !ApiKeys.Matches(_pepper, secret, row.SecretHash))
        {
            return (null, InvalidKey);
        }

        if (row.RevokedAt is not null)
        {
            return (null, ApiError.Unauthenticated("API key has been revoked"));
        }

        if (row.ValidUntil <= now)
        {
            return (null, ApiError.Unauthenticated("API key has expired"));
        }

        if (row.UserDisabledAt is not null || row.KeyDisabledAt is not null)
        {
            return (null, ApiError.Unauthorized("This user or API key has been disabled by an operator"));
        }

        await TouchAsync(row.Id, now, cancellationToken);
        return (new Caller(row.UserId, row.Id, row.RateLimitPerSecond, row.DefaultWaitSeconds, row.MessageValidity), null);
    }

    private static ApiError InvalidKey => ApiError.Unauthenticated("Invalid API key");

    private async Task<ApiKeyRow?> FindAsync(string keyId, DateTime now, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(keyId, out var cached) && cached.Until > now)
        {
            return cached.Row;
        }

        var row = await store.FindAsync(keyId, cancellationToken);
        // Unknown ids are not cached: a key created a moment ago must work at once, and guessing costs the guesser a
        // rate-limited round trip, not memory here.
        if (row is not null && _cacheDuration > TimeSpan.Zero)
        {
            _cache[keyId] = new CachedKey(row, now + _cacheDuration);
        }

        return row;
    }

    private async Task TouchAsync(long id, DateTime now, CancellationToken cancellationToken)
    {
        if (_lastTouched.TryGetValue(id, out var last) && now - last < TouchInterval)
        {
            return;
        }

        _lastTouched[id] = now;
        await store.TouchAsync(id, now, cancellationToken);
    }

    private sealed record CachedKey(ApiKeyRow Row, DateTime Until);
}
