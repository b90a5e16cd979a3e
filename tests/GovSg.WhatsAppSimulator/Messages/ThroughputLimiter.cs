namespace GovSg.WhatsAppSimulator.Messages;

/// <summary>
/// Meta's per-number throughput cap as a token bucket holding one second's worth of sends. The rate comes with each
/// call so that a change through <c>PUT /_sim/settings</c> applies at once.
/// </summary>
internal sealed class ThroughputLimiter(TimeProvider time)
{
    private readonly Lock _lock = new();
    private long _refilledAt = time.GetTimestamp();
    private double _tokens = double.PositiveInfinity;

    public bool TryAcquire(int perSecond)
    {
        if (perSecond <= 0)
        {
            return true;
        }

        lock (_lock)
        {
            var now = time.GetTimestamp();
            var elapsed = time.GetElapsedTime(_refilledAt, now);
            _refilledAt = now;
            _tokens = Math.Min(perSecond, _tokens + (elapsed.TotalSeconds * perSecond));
            if (_tokens < 1)
            {
                return false;
            }

            _tokens--;
            return true;
        }
    }
}
