using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GovSg.Tests.Integration.Callbacks;

/// <summary>A callback as an agency's endpoint received it.</summary>
public sealed record ReceivedCallback(string RawBody, string? EventId, string? KeyType, string? Signature, string? ContentType,
    IReadOnlyList<string> HeaderNames)
{
    public JsonElement Body => JsonDocument.Parse(RawBody).RootElement;

    public string MessageId => Body.GetProperty("data").GetProperty("id").GetString()!;

    public string Status => Body.GetProperty("data").GetProperty("status").GetString()!;

    /// <summary>The signature header's t and v1 values.</summary>
    public (long T, IReadOnlyList<string> V1) SignatureParts()
    {
        var parts = Signature!.Split(',').Select(p => p.Split('=', 2)).ToList();
        return (long.Parse(parts.Single(p => p[0] == "t")[1], CultureInfo.InvariantCulture),
            parts.Where(p => p[0] == "v1").Select(p => p[1]).ToList());
    }

    /// <summary>The test's own HMAC, written from SPEC §11.1 and independent of the Dispatcher's code.</summary>
    public bool IsSignedWith(string secret)
    {
        var (t, v1) = SignatureParts();
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        var expected = Convert.ToHexString(hmac.ComputeHash(Encoding.UTF8.GetBytes($"{t}.{RawBody}"))).ToLowerInvariant();
        return v1.Contains(expected);
    }
}

/// <summary>
/// An agency endpoint on loopback for callback tests: records every request and answers as the test says (the answer
/// function gets the request and how many times this event id has been received, the current one included).
/// </summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _attempts = new();
    private int _inFlight;

    private CallbackReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<ReceivedCallback> Received { get; } = new();

    /// <summary>The most requests that were being answered at once.</summary>
    public int MaxInFlight { get; private set; }

    public Uri Url { get; private set; } = null!;

    public static async Task<CallbackReceiver> StartAsync(Func<ReceivedCallback, int, Task<IResult>>? answer = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new CallbackReceiver(app);
        answer ??= (_, _) => Task.FromResult(Results.Ok());
        app.MapPost("/{**path}", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var callback = new ReceivedCallback(await reader.ReadToEndAsync(), request.Headers["X-GovSg-Event-Id"],
                request.Headers["X-GovSg-Key-Type"], request.Headers["X-GovSg-Signature"], request.ContentType,
                [.. request.Headers.Keys]);
            receiver.Received.Enqueue(callback);
            var attempt = receiver._attempts.AddOrUpdate(callback.EventId ?? "", 1, (_, n) => n + 1);
            var inFlight = Interlocked.Increment(ref receiver._inFlight);
            lock (receiver)
            {
                receiver.MaxInFlight = Math.Max(receiver.MaxInFlight, inFlight);
            }

            try
            {
                // A request the Dispatcher gave up on (its timeout) stops counting as in flight.
                return await answer(callback, attempt).WaitAsync(request.HttpContext.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return Results.Empty;
            }
            finally
            {
                Interlocked.Decrement(ref receiver._inFlight);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(new Uri(address), "hook");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        // Cancelled at once: a test may leave requests hanging on purpose.
        await _app.StopAsync(new CancellationToken(canceled: true));
        await _app.DisposeAsync();
    }
}
