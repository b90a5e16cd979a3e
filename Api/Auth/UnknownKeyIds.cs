using System.Collections.Concurrent;

namespace GovSg.Api.Auth;

/// <summary>
/// Key ids that were looked up and not found, remembered for a while (SPEC §7: a request whose key cannot be verified
/// costs at most one database lookup per key id per 30 s), so a client retrying a wrong key, or an attacker replaying
/// one, does not reach PostgreSQL on every request. Bounded: past <see cref="MaxEntries"/> the expired ids go first,
/// and if that is not enough the set starts over (each id then costs one more lookup, never more than one).
/// </summary>
public sealed class UnknownKeyIds(TimeSpan duration, TimeProvider time)
{
    public const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, long> _until = new(StringComparer.Ordinal);
    private readonly long _durationTicks = (long)(duration.TotalSeconds * time.TimestampFrequency);

    public int Count => _until.Count;

    public bool Contains(string keyId) => _until.TryGetValue(keyId, out var until) && until > time.GetTimestamp();

    public void Add(string keyId)
    {
        if (_durationTicks <= 0)
        {
            return;
        }

        var now = time.GetTimestamp();
        if (_until.Count >= MaxEntries)
        {
            foreach (var (id, until) in _until)
            {
                if (until <= now)
                {
                    _until.TryRemove(new KeyValuePair<string, long>(id, until));
                }
            }

            if (_until.Count >= MaxEntries)
            {
                _until.Clear();
            }
        }

        _until[keyId] = now + _durationTicks;
    }
}
