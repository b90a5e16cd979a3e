namespace GovSg.LoadGenerator.Measurement;

/// <summary>
/// Monotonic timestamps for measuring, tied to one wall-clock reading so that a moment of the run can also be compared
/// with the timestamps the services write to PostgreSQL (same machine, same clock).
/// </summary>
internal sealed class RunClock
{
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startUtc;

    private RunClock(TimeProvider time)
    {
        _time = time;
        _startUtc = time.GetUtcNow();
        Start = time.GetTimestamp();
    }

    public long Start { get; }

    public TimeSpan Elapsed => _time.GetElapsedTime(Start);

    public static RunClock StartNow(TimeProvider time) => new(time);

    public long Now() => _time.GetTimestamp();

    public long At(TimeSpan sinceStart) => Start + (long)(sinceStart.TotalSeconds * _time.TimestampFrequency);

    public TimeSpan Between(long from, long to) => _time.GetElapsedTime(from, to);

    public DateTime UtcAt(long timestamp) => (_startUtc + _time.GetElapsedTime(Start, timestamp)).UtcDateTime;
}
