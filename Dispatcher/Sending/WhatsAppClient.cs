using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using GovSg.Dispatcher.Extensions;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// What the provider call needs, as fixed when the message was accepted, and the <see cref="CallbackData"/> that ties
/// the provider's statuses to this call.
/// </summary>
public sealed record OutgoingMessage(string Recipient, string TemplateName, string LanguageCode, IReadOnlyList<string> Parameters,
    string CallbackData);

/// <summary>
/// The WhatsApp Cloud API's send call (SPEC §5, WHATSAPP.md). It never retries: retries are scheduled in PostgreSQL,
/// the one layer that decides them. TLS is verified by the default handler; the timeout is explicit.
/// </summary>
public sealed class WhatsAppClient(HttpClient http, IOptions<WhatsAppOptions> options, DispatcherMetrics metrics)
{
    private readonly WhatsAppOptions _options = options.Value;
    private readonly Uri _sendUri = new(options.Value.BaseUrl, $"{options.Value.ApiVersion}/{options.Value.PhoneNumberId}/messages");

    public async Task<SendOutcome> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _sendUri)
        {
            Content = new ByteArrayContent(RequestBody(message))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
            },
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.AccessToken);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            var outcome = response.IsSuccessStatusCode ? ParseSuccess(body) : ParseFailure(response.StatusCode, body);
            metrics.ProviderCall(TimeProvider.System.GetElapsedTime(started), outcome);
            return outcome;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The request may have reached Meta: the outcome is unknown until a status naming this call says (SPEC §5).
            return Recorded(started, SendOutcome.Failure(FailureKind.Transient, "timeout",
                $"No answer from the provider within {_options.Timeout.TotalSeconds:0.#} s", possiblySent: true));
        }
        catch (HttpRequestException exception)
        {
            var notSent = exception.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
                or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError;
            return Recorded(started, SendOutcome.Failure(FailureKind.Transient, "provider_unavailable",
                $"Provider connection failed ({exception.HttpRequestError})", possiblySent: !notSent));
        }
    }

    private SendOutcome Recorded(long started, SendOutcome outcome)
    {
        metrics.ProviderCall(TimeProvider.System.GetElapsedTime(started), outcome);
        return outcome;
    }

    private static byte[] RequestBody(OutgoingMessage message)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("messaging_product", "whatsapp");
            json.WriteString("recipient_type", "individual");
            json.WriteString("to", message.Recipient.TrimStart('+'));
            json.WriteString("type", "template");
            json.WriteString("biz_opaque_callback_data", message.CallbackData);
            json.WriteStartObject("template");
            json.WriteString("name", message.TemplateName);
            json.WriteStartObject("language");
            json.WriteString("code", message.LanguageCode);
            json.WriteString("policy", "deterministic");
            json.WriteEndObject();
            if (message.Parameters.Count > 0)
            {
                json.WriteStartArray("components");
                json.WriteStartObject();
                json.WriteString("type", "body");
                json.WriteStartArray("parameters");
                foreach (var text in message.Parameters)
                {
                    json.WriteStartObject();
                    json.WriteString("type", "text");
                    json.WriteString("text", text);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static SendOutcome ParseSuccess(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object &&
                document.RootElement.TryGetProperty("messages", out var messages) &&
                messages.ValueKind == JsonValueKind.Array && messages.GetArrayLength() > 0 &&
                messages[0].ValueKind == JsonValueKind.Object &&
                messages[0].TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String &&
                id.GetString() is { Length: > 0 } providerMessageId && !providerMessageId.Contains('\0'))
            {
                return SendOutcome.Success(providerMessageId);
            }
        }
        catch (JsonException)
        {
        }

        // A 2xx without a message id: Meta may have sent it, but we cannot follow it. Treated as transient.
        return SendOutcome.Failure(FailureKind.Transient, "invalid_response",
            "The provider answered success without a message id", possiblySent: true);
    }

    private static SendOutcome ParseFailure(HttpStatusCode status, byte[] body)
    {
        var httpStatus = (int)status;
        JsonElement error;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object ||
                !document.RootElement.TryGetProperty("error", out error) || error.ValueKind != JsonValueKind.Object)
            {
                return NonJson(httpStatus);
            }

            error = error.Clone();
        }
        catch (JsonException)
        {
            return NonJson(httpStatus);
        }

        int? code = error.TryGetProperty("code", out var codeElement) && codeElement.ValueKind == JsonValueKind.Number &&
                    codeElement.TryGetInt32(out var parsed)
            ? parsed
            : null;
        var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var details = error.TryGetProperty("error_data", out var data) && data.ValueKind == JsonValueKind.Object &&
                      data.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()
            : null;
        // PostgreSQL text cannot hold a NUL; the description is the provider's free text.
        var description = string.Join(": ", new[] { message, details }.Where(s => !string.IsNullOrEmpty(s))).Replace("\0", "", StringComparison.Ordinal);
        return SendOutcome.Failure(
            ProviderErrors.Classify(httpStatus, code),
            code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? httpStatus.ToString(System.Globalization.CultureInfo.InvariantCulture),
            description.Length > 0 ? description : $"HTTP {httpStatus}");
    }

    /// <summary>A body that is not Meta's JSON comes from something in between (a proxy, a load balancer).</summary>
    private static SendOutcome NonJson(int httpStatus) => httpStatus switch
    {
        401 or 403 => SendOutcome.Failure(FailureKind.CredentialsBroken, httpStatus.ToString(System.Globalization.CultureInfo.InvariantCulture), $"HTTP {httpStatus} without an error body"),
        429 => SendOutcome.Failure(FailureKind.Throughput, "429", "HTTP 429 without an error body"),
        _ => SendOutcome.Failure(FailureKind.Transient, "provider_unavailable", $"HTTP {httpStatus} with a body that is not the provider's JSON"),
    };
}
