namespace GovSg.Dispatcher.Sending;

/// <summary>
/// How far the database's clock runs ahead of this process's, from reads that also asked the database its time. Each
/// read estimates it as the database's time less the middle of the round trip, wrong by at most half the round trip; of
/// the last <see cref="Window"/> estimates younger than <see cref="MaxAge"/>, the one with the shortest round trip is
/// used, as NTP's clock filter does. Zero until the first read. The caller serialises <see cref="Observe"/>; the rest may
/// be read from any thread.
/// </summary>
public sealed class ClockOffset
{
    /// <summary>How many recent estimates the one used is chosen from.</summary>
    public const int Window = 8;

    /// <summary>How long an estimate stays usable: a clock stepped meanwhile (NTP) would make it wrong.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    private readonly Queue<Estimate> _estimates = new(Window);
    private long _ticks;
    private long _observedAt;

    /// <summary>The database's clock less this one's.</summary>
    public TimeSpan Value => TimeSpan.FromTicks(Volatile.Read(ref _ticks));

    /// <summary>Whether an estimate younger than <see cref="MaxAge"/> is at hand at <paramref name="now"/> (this clock).</summary>
    public bool IsKnown(DateTime now) => now.Ticks - Volatile.Read(ref _observedAt) < MaxAge.Ticks;

    /// <summary>A read sent at <paramref name="sent"/> (this clock) found the database's clock at <paramref name="remote"/>, and came back at <paramref name="received"/>.</summary>
    public void Observe(DateTime sent, DateTime remote, DateTime received)
    {
        var roundTrip = received - sent;
        while (_estimates.Count > 0 && (_estimates.Count >= Window || received - _estimates.Peek().At >= MaxAge))
        {
            _estimates.Dequeue();
        }

        _estimates.Enqueue(new Estimate(received, remote - (sent + (roundTrip / 2)), roundTrip));
        Volatile.Write(ref _ticks, _estimates.MinBy(e => e.RoundTrip)!.Offset.Ticks);
        Volatile.Write(ref _observedAt, received.Ticks);
    }

    private sealed record Estimate(DateTime At, TimeSpan Offset, TimeSpan RoundTrip);
}
