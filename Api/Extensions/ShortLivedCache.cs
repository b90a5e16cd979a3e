using System.Collections.Concurrent;

namespace GovSg.Api.Extensions;

/// <summary>
/// Keeps what a lookup found for a short, configured time so the send path does not ask PostgreSQL on every request.
/// Misses are never kept: something created a moment ago is found at once; something revoked or changed is seen
/// within the duration. A zero duration turns caching off. Requests that miss together share one lookup, so a replica
/// that starts under load, or an entry that expires under it, asks once rather than once per waiting request.
/// </summary>
public sealed class ShortLivedCache<TKey, TValue>(TimeSpan duration, TimeProvider time)
    where TKey : notnull
    where TValue : class
{
    // Far more than the keys and granted templates a deployment has; past it the cache simply starts over.
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<TKey, (TValue Value, long Until)> _entries = new();
    private readonly ConcurrentDictionary<TKey, Task<TValue?>> _loading = new();
    // Orders a finished lookup's keeping against Forget, so nothing read before a change is kept after it.
    private readonly Lock _forgetting = new();
    private readonly long _durationTicks = (long)(duration.TotalSeconds * time.TimestampFrequency);

    /// <summary>
    /// The kept value, or what <paramref name="load"/> finds. A shared lookup is not cancelled by one caller giving up
    /// (others wait on it), so <paramref name="load"/> gets no token; the database's statement timeout bounds it.
    /// </summary>
    public async ValueTask<TValue?> GetOrLoadAsync(TKey key, Func<Task<TValue?>> load, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.Until > time.GetTimestamp())
        {
            return entry.Value;
        }

        var mine = new TaskCompletionSource<TValue?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loading = _loading.GetOrAdd(key, mine.Task);
        if (loading == mine.Task)
        {
            _ = LoadAsync(key, load, mine);
        }

        return await loading.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Drops what is kept for the key, so the next lookup asks again (a change made by this replica). A lookup already
    /// under way still answers its callers, who asked before the change, but what it read is not kept.
    /// </summary>
    public void Forget(TKey key)
    {
        lock (_forgetting)
        {
            _loading.TryRemove(key, out _);
            _entries.TryRemove(key, out _);
        }
    }

    private async Task LoadAsync(TKey key, Func<Task<TValue?>> load, TaskCompletionSource<TValue?> result)
    {
        var loadedAt = time.GetTimestamp();
        try
        {
            var value = await load();
            lock (_forgetting)
            {
                if (_loading.TryRemove(KeyValuePair.Create(key, result.Task)))
                {
                    Keep(key, value, loadedAt);
                }
            }

            result.SetResult(value);
        }
        catch (Exception exception)
        {
            _loading.TryRemove(KeyValuePair.Create(key, result.Task));
            result.SetException(exception);
        }
    }

    private void Keep(TKey key, TValue? value, long loadedAt)
    {
        if (value is null || _durationTicks <= 0)
        {
            _entries.TryRemove(key, out _);
            return;
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[key] = (value, loadedAt + _durationTicks);
    }
}
