using System.Diagnostics.Metrics;
using GovSg.Dispatcher.Extensions;

namespace GovSg.Tests;

/// <summary>What the Dispatcher meters of this process report now for one gauge: one value for each meter alive.</summary>
internal static class DispatcherGauges
{
    public static List<T> Read<T>(string name) where T : struct
    {
        var values = new List<T>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == name && instrument.Meter.Name == DispatcherMetrics.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<T>((_, value, _, _) => values.Add(value));
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
