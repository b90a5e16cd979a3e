using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Dapper;
using GovSg.Dispatcher.Extensions;

namespace GovSg.Tests.Integration;

/// <summary>What an operator's dashboards and alerts read (SPEC §9.1).</summary>
public sealed class MetricsTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Dispatcher_WhenMetricsAreCollected_ReportsTheUnsentBacklogAndItsOldestMessage()
    {
        // Three messages stored while the broker is unreachable, out of the lost-command sweep's reach: they wait as UNSENT.
        var ids = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(3);
        await using var connection = await Env.Database.OpenConnectionAsync();
        var firstStored = await connection.ExecuteScalarAsync<DateTime>("SELECT min(created_at) FROM messages WHERE id = ANY(@ids)", new { ids });

        await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        var seen = Collect();

        Assert.That(seen.GetValueOrDefault("govsg.messages.unsent"), Is.GreaterThanOrEqualTo(3));
        Assert.That(seen.GetValueOrDefault("govsg.messages.unsent.oldest_age"),
            Is.GreaterThanOrEqualTo((DateTime.UtcNow - firstStored).TotalSeconds - 0.5));
    }

    /// <summary>One collection of the Dispatchers' backlog gauges, as an exporter's reader makes it: the largest value seen.</summary>
    private static ConcurrentDictionary<string, double> Collect()
    {
        var seen = new ConcurrentDictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DispatcherMetrics.Name && instrument.Name.StartsWith("govsg.messages.unsent", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(seen, instrument.Name, value));
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(seen, instrument.Name, value));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    private static void Record(ConcurrentDictionary<string, double> seen, string name, double value) =>
        seen.AddOrUpdate(name, value, (_, earlier) => Math.Max(earlier, value));
}
