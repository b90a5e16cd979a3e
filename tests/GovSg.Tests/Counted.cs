using System.Diagnostics.Metrics;

namespace GovSg.Tests;

/// <summary>
/// What one counter of this process adds up to while this listens, over the measurements that carry <c>tag</c> (all of
/// them without one). Tests run one at a time, so what it counts is the test's own.
/// </summary>
internal sealed class Counted : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public Counted(string meter, string counter, KeyValuePair<string, object?>? tag = null)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meter && instrument.Name == counter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tag is not { } wanted || tags.ToArray().Any(t => t.Key == wanted.Key && Equals(t.Value, wanted.Value)))
            {
                Interlocked.Add(ref _total, value);
            }
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
