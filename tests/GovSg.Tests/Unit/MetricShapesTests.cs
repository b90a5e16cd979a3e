using GovSg.Api.Extensions;
using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace GovSg.Tests.Unit;

/// <summary>
/// What an exporter makes of our instruments: the shape an operator's dashboards and alerts read (SPEC §9.1). The
/// test system's own hosts run in this process and record on meters of the same names, so the assertions hold whatever
/// else they record meanwhile.
/// </summary>
public sealed class MetricShapesTests
{
    private static readonly double[] SecondsBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    [Test]
    public void ProviderDurationAndQueueLag_AreExportedWithBucketsInSeconds()
    {
        using var metrics = new DispatcherMetrics();

        var exported = Export(DispatcherMetrics.Name, () =>
        {
            metrics.ProviderCall(TimeSpan.FromMilliseconds(120), SendOutcome.Success("wamid.1"));
            metrics.QueueLag(TimeSpan.FromSeconds(40));
        });

        // Not the exporter's default bounds (0, 5, 10, 25 ... 10,000), in which every call under 5 s is one bucket.
        Assert.That(Bounds(exported, "govsg.provider.duration"), Is.EqualTo(SecondsBounds));
        Assert.That(Bounds(exported, "govsg.queue.lag"), Is.EqualTo(SecondsBounds));
    }

    [Test]
    public void WebhookStatuses_AreCountedByStatusAndFailureCode()
    {
        using var metrics = new ApiMetrics();
        var code = $"test-{Guid.NewGuid():N}";

        var exported = Export(ApiMetrics.MeterName,
            () => metrics.WebhookStatuses([Status("delivered"), Status("read"), Status("read"), Status("failed", code)]));

        var counts = exported.Single(m => m.Name == "govsg.webhook.statuses").MetricPoints
            .Select(p => (Tags: Tags(p), Count: p.GetSumLong()))
            .ToList();
        Assert.That(counts.Where(c => Equals(c.Tags.GetValueOrDefault("code"), code)).Select(c => (c.Tags["status"], c.Count)),
            Is.EqualTo(new[] { ((object?)"failed", 1L) }));
        Assert.That(counts.Where(c => c.Tags.GetValueOrDefault("code") is null).Select(c => c.Tags["status"]),
            Is.SupersetOf(new[] { "delivered", "read" }));
    }

    private static List<MetricSnapshot> Export(string meter, Action record)
    {
        var exported = new List<MetricSnapshot>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(meter).AddInMemoryExporter(exported).Build();
        record();
        provider.ForceFlush();
        // Disposing the provider exports once more; the first export is the one that holds what was recorded.
        return exported.DistinctBy(m => m.Name).ToList();
    }

    private static ProviderStatus Status(string status, string? code = null) =>
        new("wamid.1", status, DateTime.UtcNow, code, code is null ? null : "Message undeliverable");

    private static List<double> Bounds(List<MetricSnapshot> exported, string name)
    {
        var bounds = new List<double>();
        foreach (var bucket in exported.Single(m => m.Name == name).MetricPoints[0].GetHistogramBuckets())
        {
            bounds.Add(bucket.ExplicitBound);
        }

        return bounds[..^1]; // the last bucket is everything above the last bound
    }

    private static Dictionary<string, object?> Tags(MetricPoint point)
    {
        var tags = new Dictionary<string, object?>();
        foreach (var tag in point.Tags)
        {
            tags[tag.Key] = tag.Value;
        }

        return tags;
    }
}
