using GovSg.LoadGenerator.Measurement;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// Collects what the measured (post-warm-up) requests saw: latency of the accepted ones, answers by status, sends not
/// issued on time, how late the generator itself handed each send to the HTTP client, and when the last one completed
/// — the end of the window the achieved rate is computed over, so a system that falls behind shows a lower rate
/// instead of the offered one.
/// </summary>
internal sealed class LoadRecorder(RunClock clock, int success)
{
    private readonly LatencyHistogram _latency = new();
    private readonly LatencyHistogram _lateness = new();
    private readonly StatusCounts _statuses = new();
    private long _notIssued;
    private long _lastCompletion;

    public void Completed(int status, long measuredFrom)
    {
        var now = clock.Now();
        if (status == success)
        {
            _latency.Record(clock.Between(measuredFrom, now));
        }

        _statuses.Add(status);
        var last = Interlocked.Read(ref _lastCompletion);
        while (now > last)
        {
            var seen = Interlocked.CompareExchange(ref _lastCompletion, now, last);
            if (seen == last)
            {
                break;
            }

            last = seen;
        }
    }

    /// <summary>
    /// A send due at <paramref name="dueAt"/> is handed to the HTTP client now: on a machine the system under test keeps
    /// busy, the part of its latency spent waiting for the generator's own turn on a core.
    /// </summary>
    public void Issued(long dueAt) => _lateness.Record(clock.Between(dueAt, clock.Now()));

    public void NotIssued() => Interlocked.Increment(ref _notIssued);

    public LoadResult Result(LoadPlan plan, long windowStart)
    {
        var windowEnd = Math.Max(windowStart, Interlocked.Read(ref _lastCompletion));
        return new LoadResult(plan, _latency, _lateness, _statuses, Interlocked.Read(ref _notIssued), clock.Between(windowStart, windowEnd));
    }
}
