namespace GovSg.LoadGenerator.Measurement;

/// <summary>Monotonic timestamps of one run, all relative to its start.</summary>
internal sealed class RunClock
{
    private readonly TimeProvider _time;

    private RunClock(TimeProvider time)
    {
        _time = time;
        Start = time.GetTimestamp();
    }

    public long Start { get; }

    public TimeSpan Elapsed => _time.GetElapsedTime(Start);

    public static RunClock StartNow(TimeProvider time) => new(time);

    public long Now() => _time.GetTimestamp();

    public long At(TimeSpan sinceStart) => Start + (long)(sinceStart.TotalSeconds * _time.TimestampFrequency);

    public TimeSpan Between(long from, long to) => _time.GetElapsedTime(from, to);
}
