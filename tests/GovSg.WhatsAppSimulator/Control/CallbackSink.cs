using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GovSg.WhatsAppSimulator.Control;

/// <summary>One callback as the sink received it: the headers a receiver checks and the raw body.</summary>
internal sealed record ReceivedCallback(DateTime ReceivedAt, string? EventId, string? KeyType, string? Signature, JsonElement Body,
    string RawBody);

/// <summary>
/// A stand-in agency endpoint for local runs: point a user's callback URL at <c>/_sim/callbacks</c> and read back what
/// the Dispatcher POSTed (the README shows it). Keeps the latest 1,000.
/// </summary>
internal sealed class CallbackSink(TimeProvider time)
{
    private const int Capacity = 1_000;

    private readonly ConcurrentQueue<ReceivedCallback> _received = new();

    public void Add(ReceivedCallback callback)
    {
        _received.Enqueue(callback);
        while (_received.Count > Capacity && _received.TryDequeue(out _))
        {
        }
    }

    public IReadOnlyList<ReceivedCallback> All => [.. _received];

    public void Clear() => _received.Clear();

    public DateTime Now => time.GetUtcNow().UtcDateTime;
}

internal static class CallbackSinkEndpoints
{
    public static RouteGroupBuilder MapCallbackSinkApi(this RouteGroupBuilder group)
    {
        group.MapPost("/callbacks", ReceiveAsync).WithName("ReceiveCallback");
        group.MapGet("/callbacks", (CallbackSink sink) => TypedResults.Ok(new { data = sink.All })).WithName("ListCallbacks");
        group.MapDelete("/callbacks", ClearCallbacks).WithName("ClearCallbacks");
        return group;
    }

    public static async Task<Results<Ok, BadRequest>> ReceiveAsync(HttpRequest request, CallbackSink sink)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var raw = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(raw).RootElement.Clone();
        }
        catch (JsonException)
        {
            return TypedResults.BadRequest();
        }

        sink.Add(new ReceivedCallback(sink.Now, request.Headers["X-GovSg-Event-Id"], request.Headers["X-GovSg-Key-Type"],
            request.Headers["X-GovSg-Signature"], body, raw));
        return TypedResults.Ok();
    }

    public static NoContent ClearCallbacks(CallbackSink sink)
    {
        sink.Clear();
        return TypedResults.NoContent();
    }
}
