namespace GovSg.Dispatcher.Sending;

/// <summary>
/// The database's clock, read at <paramref name="Remote"/> in a round trip of <paramref name="RoundTrip"/> (timed by a
/// monotonic clock) that came back at <paramref name="Received"/> by this process's clock.
/// </summary>
public sealed record ClockReading(TimeSpan RoundTrip, DateTime Remote, DateTime Received)
{
    /// <summary>The database's clock less this one's, wrong by at most <see cref="Error"/> either way.</summary>
    public TimeSpan Offset => Remote - (Received - (RoundTrip / 2));

    public TimeSpan Error => RoundTrip / 2;
}

/// <summary>
/// How far the database's clock runs ahead of this process's, from reads that also asked the database its time. Of the
/// last <see cref="Window"/> readings younger than <see cref="MaxAge"/>, the one with the shortest round trip is used, as
/// NTP's clock filter does; a reading that cannot agree with it (their error bounds do not overlap: a clock was stepped,
/// or drifted since) starts the window afresh. Zero until the first reading. The caller serialises
/// <see cref="Observe"/>; the rest may be read from any thread.
/// </summary>
public sealed class ClockOffset
{
    /// <summary>How many recent readings the one used is chosen from.</summary>
    public const int Window = 8;

    /// <summary>How long a reading stays usable.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    private readonly Queue<ClockReading> _readings = new(Window);
    private ClockReading? _best;
    private long _ticks;
    private long _observedAt;

    /// <summary>The database's clock less this one's.</summary>
    public TimeSpan Value => TimeSpan.FromTicks(Volatile.Read(ref _ticks));

    /// <summary>Whether a reading younger than <see cref="MaxAge"/> is at hand at <paramref name="now"/> (this clock).</summary>
    public bool IsKnown(DateTime now) => now.Ticks - Volatile.Read(ref _observedAt) < MaxAge.Ticks;

    public void Observe(ClockReading reading)
    {
        if (_best is not null && (reading.Offset - _best.Offset).Duration() > reading.Error + _best.Error)
        {
            _readings.Clear();
        }

        while (_readings.Count > 0
               && (_readings.Count >= Window || reading.Received - _readings.Peek().Received >= MaxAge))
        {
            _readings.Dequeue();
        }

        _readings.Enqueue(reading);
        _best = _readings.MinBy(r => r.RoundTrip)!;
        Volatile.Write(ref _ticks, _best.Offset.Ticks);
        Volatile.Write(ref _observedAt, reading.Received.Ticks);
    }
}
