using GovSg.LoadGenerator.Measurement;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// Collects what the measured (post-warm-up) requests saw: latency of the accepted ones, answers by status, sends not
/// issued on time, and when the last one completed — the end of the window the achieved rate is computed over, so a
/// system that falls behind shows a lower rate instead of the offered one.
/// </summary>
internal sealed class LoadRecorder(RunClock clock, int success)
{
    private readonly LatencyHistogram _latency = new();
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

    public void NotIssued() => Interlocked.Increment(ref _notIssued);

    public LoadResult Result(LoadPlan plan, long windowStart)
    {
        var windowEnd = Math.Max(windowStart, Interlocked.Read(ref _lastCompletion));
        return new LoadResult(plan, _latency, _statuses, Interlocked.Read(ref _notIssued), clock.Between(windowStart, windowEnd));
    }
}
