using System.Collections.Concurrent;

namespace GovSg.Api.Auth;

/// <summary>
/// Key ids recently refused, remembered for a while (SPEC §7: a request whose key cannot be verified costs at most one
/// database lookup per key id per 30 s), so a client retrying a wrong key, or an attacker replaying or guessing one,
/// does not reach PostgreSQL on every request. An id that was not found is remembered as such; an id found with a
/// secret that did not match is remembered with its stored hash, so a wrong secret is refused against that hash
/// (a key's hash never changes) while the right one still goes on to the usual lookup. Bounded: past
/// <see cref="MaxEntries"/> the expired ids go first, and if that frees less than a tenth of the set it starts over
/// (each id then costs one more lookup, never more than one). Either way the next full set is at least a tenth of
/// <see cref="MaxEntries"/> adds away, so a flood of new ids that keeps the set just full, a few expiring as each
/// comes, cannot make every refusal walk the whole set.
/// </summary>
public sealed class RefusedKeyIds(TimeSpan duration, TimeProvider time)
{
    public const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, (byte[]? SecretHash, long Until)> _entries = new(StringComparer.Ordinal);
    private readonly long _durationTicks = (long)(duration.TotalSeconds * time.TimestampFrequency);
    private readonly Lock _trimming = new();

    // The set's size, kept here: the dictionary's own Count takes every one of its locks, 20 µs at this size, which
    // each refusal would pay. Exact again after every trim.
    private int _count;

    public int Count => _entries.Count;

    /// <summary>
    /// Whether the key id was refused within the duration; <paramref name="secretHash"/> is then the stored hash it
    /// was found with, or null when it was not found at all.
    /// </summary>
    public bool TryGet(string keyId, out byte[]? secretHash)
    {
        if (_entries.TryGetValue(keyId, out var entry) && entry.Until > time.GetTimestamp())
        {
            secretHash = entry.SecretHash;
            return true;
        }

        secretHash = null;
        return false;
    }

    public void Add(string keyId, byte[]? secretHash = null)
    {
        if (_durationTicks <= 0)
        {
            return;
        }

        var now = time.GetTimestamp();
        if (Volatile.Read(ref _count) >= MaxEntries)
        {
            Trim(now);
        }

        var entry = (secretHash, now + _durationTicks);
        if (_entries.TryAdd(keyId, entry))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _entries[keyId] = entry;
        }
    }

    private void Trim(long now)
    {
        lock (_trimming)
        {
            // Another refusal may have trimmed it meanwhile.
            if (_entries.Count >= MaxEntries)
            {
                foreach (var (id, entry) in _entries)
                {
                    if (entry.Until <= now)
                    {
                        _entries.TryRemove(new KeyValuePair<string, (byte[]?, long)>(id, entry));
                    }
                }

                if (_entries.Count > MaxEntries - MaxEntries / 10)
                {
                    _entries.Clear();
                }
            }

            Volatile.Write(ref _count, _entries.Count);
        }
    }
}
