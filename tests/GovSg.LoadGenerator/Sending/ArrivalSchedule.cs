namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// When each send of an open-loop run is due. Over the warm-up the rate climbs linearly from a tenth of the target to the
/// target, so a freshly started system warms up (JIT, pools, caches) under load it can take instead of being buried in
/// a backlog that would spill into the measured window; after it the rate is constant.
/// </summary>
internal sealed class ArrivalSchedule
{
    private const double StartShare = 0.1;

    private readonly double _rate;
    private readonly double _startRate;
    private readonly double _warmupSeconds;

    public ArrivalSchedule(int rate, TimeSpan warmup, TimeSpan? duration, long? messages)
    {
        _rate = rate;
        _startRate = rate * StartShare;
        _warmupSeconds = warmup.TotalSeconds;
        WarmupSends = (long)((_startRate + _rate) / 2 * _warmupSeconds);
        Total = duration is { } measured ? WarmupSends + (long)(measured.TotalSeconds * rate) : messages!.Value;
    }

    /// <summary>Sends due during the warm-up; the measured ones follow.</summary>
    public long WarmupSends { get; }

    public long Total { get; }

    /// <summary>How many sends are due by <paramref name="elapsed"/> (send 0 is due at once).</summary>
    public long DueBy(TimeSpan elapsed)
    {
        var t = elapsed.TotalSeconds;
        var due = t < _warmupSeconds
            ? (_startRate * t) + ((_rate - _startRate) * t * t / (2 * _warmupSeconds))
            : WarmupSends + (_rate * (t - _warmupSeconds));
        return Math.Min(Total, (long)due + 1);
    }

    /// <summary>When send <paramref name="send"/> is due, from the start of the run.</summary>
    public TimeSpan DueAt(long send)
    {
        if (send >= WarmupSends)
        {
            return TimeSpan.FromSeconds(_warmupSeconds + ((send - WarmupSends) / _rate));
        }

        // The inverse of the warm-up's cumulative count: solve startRate·t + slope·t²/2 = send for t.
        var slope = (_rate - _startRate) / _warmupSeconds;
        return TimeSpan.FromSeconds((Math.Sqrt((_startRate * _startRate) + (2 * slope * send)) - _startRate) / slope);
    }
}
