using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Encodings.Web;
using System.Text.Json;
using GovSg.Callbacks;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Callbacks;

/// <summary>An event as a delivery needs it.</summary>
public sealed class ClaimedEvent
{
    public long Id { get; init; }
    public long UserId { get; init; }
    public string KeyType { get; init; } = "";
    public string Data { get; init; } = "";
    public int Attempts { get; init; }
    public DateTime CreatedAt { get; init; }
    public string Url { get; init; } = "";

    /// <summary>The end of this claim's lease, as stored: the claim's mark on the event, which its retry checks.</summary>
    public DateTime LeaseUntil { get; init; }
}

/// <summary>
/// The host resolved to no address the rules allow, or to none at all (or the connection reached a refused one, and
/// was closed before anything was sent). The reason the agency reads tells these apart in no way and names no address:
/// it would map the Dispatcher's network (which internal names exist, where they are, which ports answer) for whoever
/// sets the URL.
/// </summary>
public sealed class CallbackAddressRefusedException()
    : IOException("connection failed: the host has no address callbacks may reach (it does not resolve, or only to a private, loopback or link-local one)");

/// <summary>
/// POSTs one signed event (SPEC §11.1). Server-side request forgery is stopped where it happens: the handler's connect
/// callback resolves the host itself, connects only to the addresses the rules allow, and checks the address the
/// connection actually reached (so DNS rebinding cannot slip past a separate lookup); redirects are never followed,
/// and no proxy stands in between.
/// </summary>
public sealed class CallbackClient(HttpClient http, IOptions<CallbackOptions> options, TimeProvider time)
{
    public static SocketsHttpHandler CreateHandler(bool allowLoopback) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        ConnectCallback = async (context, cancellationToken) =>
        {
            IPAddress[] allowed;
            try
            {
                allowed = (await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken))
                    .Where(address => CallbackAddressRules.IsAllowed(address, allowLoopback))
                    .ToArray();
            }
            catch (SocketException)
            {
                allowed = [];
            }

            if (allowed.Length == 0)
            {
                throw new CallbackAddressRefusedException();
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                if (!CallbackAddressRules.IsAllowed(((IPEndPoint)socket.RemoteEndPoint!).Address, allowLoopback))
                {
                    throw new CallbackAddressRefusedException();
                }

                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    public async Task<AttemptResult> PostAsync(ClaimedEvent claimed, IReadOnlyList<string> secrets,
        CancellationToken cancellationToken)
    {
        var body = Body(claimed);
        using var request = new HttpRequestMessage(HttpMethod.Post, claimed.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var eventId = claimed.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        request.Headers.Add("X-GovSg-Event-Id", eventId);
        request.Headers.Add("X-GovSg-Key-Type", claimed.KeyType);
        request.Headers.Add(CallbackSignature.HeaderName,
            CallbackSignature.Header(time.GetUtcNow().ToUnixTimeSeconds(), body, secrets));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.Timeout);
        try
        {
            // Untraced: OpenTelemetry's HttpClient instrumentation would send the Dispatcher's trace context to the agency
            // as traceparent (it injects through the global propagator, whatever the handler's), and an agency's endpoint
            // has no use for our trace ids. The attempt's outcome is in the logs and metrics (CallbackWorker).
            using var untraced = OpenTelemetry.SuppressInstrumentationScope.Begin();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return new AttemptResult((int)response.StatusCode, $"HTTP {(int)response.StatusCode}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new AttemptResult(null, $"timeout: no answer within {options.Value.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException exception)
        {
            return new AttemptResult(null, exception.InnerException is CallbackAddressRefusedException refused
                ? refused.Message
                : $"connection failed ({exception.HttpRequestError})");
        }
    }

    /// <summary>The body of SPEC §11.1: exactly id, type, created_at and the message as the event recorded it.</summary>
    public static byte[] Body(ClaimedEvent claimed)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps "+6581489408" readable; the body is never embedded in HTML.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("id", claimed.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("type", "message.status_changed");
            writer.WriteString("created_at", claimed.CreatedAt.ToUniversalTime()
                .ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            writer.WritePropertyName("data");
            using (var data = JsonDocument.Parse(claimed.Data))
            {
                data.RootElement.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
