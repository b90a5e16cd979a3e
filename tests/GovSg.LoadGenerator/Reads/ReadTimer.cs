using System.Text.Json;
using GovSg.LoadGenerator.Measurement;

namespace GovSg.LoadGenerator.Reads;

/// <summary>Times one query shape: a few discarded warm-up calls, then N calls one after another, then N calls shared by concurrent callers.</summary>
internal sealed class ReadTimer(HttpClient http, TimeProvider time)
{
    private const string ListPath = "v1/transactional/govsg";
    private const int Ok = 200;

    // The first calls of a shape pay for cold pages and planning; a caller paging through a list does not.
    private const int WarmupCalls = 3;

    public async Task<ReadTiming> MeasureAsync(ReadShape shape, int iterations, int concurrency, CancellationToken cancellationToken)
    {
        var statuses = new StatusCounts();
        int? rows = null;
        for (var i = 0; i < WarmupCalls; i++)
        {
            rows = await CountRowsAsync(shape, cancellationToken);
        }

        var sequential = new LatencyHistogram();
        for (var i = 0; i < iterations; i++)
        {
            await CallAsync(shape, sequential, statuses, cancellationToken);
        }

        var concurrent = new LatencyHistogram();
        var remaining = iterations;
        async Task CallerAsync()
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                await CallAsync(shape, concurrent, statuses, cancellationToken);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => CallerAsync()));
        return new ReadTiming(shape, rows, sequential, concurrent, statuses);
    }

    private async Task CallAsync(ReadShape shape, LatencyHistogram latency, StatusCounts statuses, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        using var response = await SendAsync(shape, cancellationToken);
        var status = response is null ? StatusCounts.NoResponse : (int)response.StatusCode;
        if (status == Ok)
        {
            latency.Record(time.GetElapsedTime(started));
        }

        statuses.Add(status);
    }

    /// <summary>The rows a call returns, or null when it fails: shows that each shape selects what it should.</summary>
    private async Task<int?> CountRowsAsync(ReadShape shape, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(shape, cancellationToken);
        if (response is not { StatusCode: System.Net.HttpStatusCode.OK })
        {
            return null;
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        return document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array
            ? data.GetArrayLength()
            : null;
    }

    private async Task<HttpResponseMessage?> SendAsync(ReadShape shape, CancellationToken cancellationToken)
    {
        try
        {
            return await http.GetAsync(shape.Query.Length == 0 ? ListPath : $"{ListPath}?{shape.Query}", cancellationToken);
        }
        catch (Exception exception) when (exception is HttpRequestException
                                              || (exception is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }
}

internal sealed record ReadTiming(ReadShape Shape, int? Rows, LatencyHistogram Sequential, LatencyHistogram Concurrent, StatusCounts Statuses);
