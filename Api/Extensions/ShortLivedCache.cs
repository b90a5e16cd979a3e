using System.Collections.Concurrent;

namespace GovSg.Api.Extensions;

/// <summary>
/// Keeps what a lookup found for a short, configured time so the send path does not ask PostgreSQL on every request.
/// Misses are never kept: something created a moment ago is found at once; something revoked or changed is seen
/// within the duration. A zero duration turns caching off.
/// </summary>
public sealed class ShortLivedCache<TKey, TValue>(TimeSpan duration, TimeProvider time)
    where TKey : notnull
    where TValue : class
{
    // Far more than the keys and granted templates a deployment has; past it the cache simply starts over.
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<TKey, (TValue Value, long Until)> _entries = new();
    private readonly long _durationTicks = (long)(duration.TotalSeconds * time.TimestampFrequency);

    public async ValueTask<TValue?> GetOrLoadAsync(TKey key, Func<CancellationToken, Task<TValue?>> load,
        CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_entries.TryGetValue(key, out var entry) && entry.Until > now)
        {
            return entry.Value;
        }

        var value = await load(cancellationToken);
        if (value is null || _durationTicks <= 0)
        {
            _entries.TryRemove(key, out _);
            return value;
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[key] = (value, now + _durationTicks);
        return value;
    }

    /// <summary>Drops what is kept for the key, so the next lookup asks again (a change made by this replica).</summary>
    public void Forget(TKey key) => _entries.TryRemove(key, out _);
}
