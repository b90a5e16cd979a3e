using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace GovSg.Tests.Integration;

/// <summary>
/// A signal goes over OTLP to the endpoint OpenTelemetry's variables name for it: an operator who sets only
/// <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c> gets metrics there.
/// </summary>
[NonParallelizable]
public sealed class TelemetryExportTests
{
    [TestCase("TRACES", "/v1/traces", "OTEL_BSP_SCHEDULE_DELAY")]
    [TestCase("METRICS", "/v1/metrics", "OTEL_METRIC_EXPORT_INTERVAL")]
    [TestCase("LOGS", "/v1/logs", "OTEL_BLRP_SCHEDULE_DELAY")]
    public async Task ASignalsOwnEndpoint_ReceivesThatSignal(string signal, string path, string interval)
    {
        var received = new ConcurrentQueue<string>();
        await using var collector = await StartCollectorAsync(received);
        await using var api = TestEnvironment.Current.StartApi(new Dictionary<string, string?>
        {
            [$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"] = new Uri(new Uri(collector.Urls.First()), path).ToString(),
            [$"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"] = "http/protobuf",
            [interval] = "200",
        });
        using var client = api.CreateClient();
        await client.GetAsync(new Uri("/health/ready", UriKind.Relative)); // a request, to make a span and a log line

        var paths = await Poll.UntilAsync(() => Task.FromResult(received.ToArray()), seen => seen.Contains(path),
            TimeSpan.FromSeconds(30));

        Assert.That(paths, Has.Member(path));
    }

    /// <summary>A stand-in for an OpenTelemetry collector: answers every OTLP/HTTP export 200 and records its path.</summary>
    private static async Task<WebApplication> StartCollectorAsync(ConcurrentQueue<string> received)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var collector = builder.Build();
        collector.Run(context =>
        {
            received.Enqueue(context.Request.Path);
            return Task.CompletedTask;
        });
        await collector.StartAsync();
        return collector;
    }
}
