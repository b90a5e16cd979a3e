using System.Numerics;

namespace GovSg.LoadGenerator.Measurement;

/// <summary>
/// Latencies in microseconds, in fixed memory whatever the run's length, to within 1/64 (1.6%): below 128 µs each
/// microsecond has its own bucket, and above it every power of two is split into 64 equal buckets (HdrHistogram's
/// layout, simplified). Safe to record from many threads at once.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBuckets = 64;
    private const int LinearBuckets = 2 * SubBuckets;

    private readonly long[] _counts = new long[LinearBuckets + (64 * SubBuckets)];
    private long _count;
    private long _maxMicroseconds;

    public long Count => Interlocked.Read(ref _count);

    public TimeSpan Max => TimeSpan.FromMicroseconds(Interlocked.Read(ref _maxMicroseconds));

    public void Record(TimeSpan latency)
    {
        var microseconds = Math.Max(0, (long)latency.TotalMicroseconds);
        Interlocked.Increment(ref _counts[IndexOf(microseconds)]);
        Interlocked.Increment(ref _count);
        var max = Interlocked.Read(ref _maxMicroseconds);
        while (microseconds > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxMicroseconds, microseconds, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>The latency at or below which the given share of recordings fall (a bucket's upper edge); null when empty.</summary>
    public TimeSpan? Percentile(double share)
    {
        var count = Count;
        if (count == 0)
        {
            return null;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(share * count));
        long seen = 0;
        for (var index = 0; index < _counts.Length; index++)
        {
            seen += Interlocked.Read(ref _counts[index]);
            if (seen >= rank)
            {
                return TimeSpan.FromMicroseconds(Math.Min(UpperEdge(index), Interlocked.Read(ref _maxMicroseconds)));
            }
        }

        return Max;
    }

    /// <summary>How many recordings exceed the given latency (to within a bucket, 1.6%).</summary>
    public long CountAbove(TimeSpan latency)
    {
        long above = 0;
        for (var index = IndexOf((long)latency.TotalMicroseconds) + 1; index < _counts.Length; index++)
        {
            above += Interlocked.Read(ref _counts[index]);
        }

        return above;
    }

    private static int IndexOf(long microseconds)
    {
        if (microseconds < LinearBuckets)
        {
            return (int)microseconds;
        }

        // Shifted right this far, the value lands in [64, 128): its position there is the sub-bucket.
        var shift = 63 - BitOperations.LeadingZeroCount((ulong)microseconds) - 6;
        return LinearBuckets + ((shift - 1) * SubBuckets) + (int)(microseconds >> shift) - SubBuckets;
    }

    private static long UpperEdge(int index)
    {
        if (index < LinearBuckets)
        {
            return index;
        }

        var shift = ((index - LinearBuckets) / SubBuckets) + 1;
        var subBucket = ((index - LinearBuckets) % SubBuckets) + SubBuckets;
        return ((long)(subBucket + 1) << shift) - 1;
    }
}
