using System.Net;
using System.Text.Json;
using GovSg.Dispatcher.Extensions;
using GovSg.Hosting;
using Microsoft.Extensions.Options;
using Refit;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// What the provider call needs, as fixed when the message was accepted, and the <see cref="CallbackData"/> that ties
/// the provider's statuses to this call.
/// </summary>
public sealed record OutgoingMessage(string Recipient, string TemplateName, string LanguageCode, IReadOnlyList<string> Parameters,
    string CallbackData);

/// <summary>
/// The WhatsApp Cloud API's send call (SPEC §5, WHATSAPP.md) around <see cref="IWhatsAppCloudApi"/>: the explicit
/// timeout, whether a failed call may have been sent, and the classification of failures. It never retries: retries
/// are scheduled in PostgreSQL, the one layer that decides them. TLS is verified by the default handler.
/// </summary>
public sealed class WhatsAppClient(IWhatsAppCloudApi api, IOptions<WhatsAppOptions> options, DispatcherMetrics metrics,
    TimeProvider time)
{
    private readonly WhatsAppOptions _options = options.Value;

    public async Task<SendOutcome> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.Timeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var started = time.GetTimestamp();
        try
        {
            using var response = await api.SendMessageAsync(_options.ApiVersion, _options.PhoneNumberId, _options.AccessToken,
                Body(message), timeout.Token);
            // Transport failures are thrown (WhatsAppCloudApi.Settings), so every response here carries a status.
            if (response is { IsSuccessStatusCode: true, Content: null, Error.InnerException: OperationCanceledException })
            {
                // Refit hands back a body it could not read as a response without content: one the timeout cut off is
                // the timeout's, not an invalid answer.
                timeout.Token.ThrowIfCancellationRequested();
            }

            var outcome = response.IsSuccessStatusCode
                ? Success(response.Content)
                : ParseFailure(response.StatusCode!.Value, (response.Error as ApiException)?.Content);
            return Recorded(started, outcome);
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
        metrics.ProviderCall(time.GetElapsedTime(started), outcome);
        return outcome;
    }

    private static TemplateMessage Body(OutgoingMessage message) => new(
        message.Recipient.TrimStart('+'),
        message.CallbackData,
        new MessageTemplate(message.TemplateName, new TemplateLanguage(message.LanguageCode),
            message.Parameters.Count > 0 ? [new TemplateComponent([.. message.Parameters.Select(text => new TextParameter(text))])] : null));

    /// <summary>
    /// A 2xx without a readable message id (Refit leaves <paramref name="response"/> empty when the body is not the
    /// documented shape): Meta may have sent it, but we cannot follow it. Treated as transient.
    /// </summary>
    private static SendOutcome Success(SendMessageResponse? response) =>
        response?.Messages is [{ Id: { Length: > 0 } providerMessageId }, ..] && !providerMessageId.Contains('\0')
            ? SendOutcome.Success(providerMessageId)
            : SendOutcome.Failure(FailureKind.Transient, "invalid_response",
                "The provider answered success without a message id", possiblySent: true);

    private static SendOutcome ParseFailure(HttpStatusCode status, string? body)
    {
        var httpStatus = (int)status;
        if (string.IsNullOrEmpty(body))
        {
            return NonJson(httpStatus);
        }

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

        var code = Number(error, "code");
        // Free text that cannot be read is left out: the code alone classifies the failure.
        var message = error.TryGetProperty("message", out var m) ? m.ReadableString() : null;
        var details = error.TryGetProperty("error_data", out var data) && data.ValueKind == JsonValueKind.Object &&
                      data.TryGetProperty("details", out var d)
            ? d.ReadableString()
            : null;
        // PostgreSQL text cannot hold a NUL; the description is the provider's free text.
        var description = string.Join(": ", new[] { message, details }.Where(s => !string.IsNullOrEmpty(s))).Replace("\0", "", StringComparison.Ordinal);
        return SendOutcome.Failure(
            ProviderErrors.Classify(httpStatus, code, Number(error, "error_subcode")),
            code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? httpStatus.ToString(System.Globalization.CultureInfo.InvariantCulture),
            description.Length > 0 ? description : $"HTTP {httpStatus}",
            possiblySent: code is null && IsGatewayTimeout(httpStatus));
    }

    private static int? Number(JsonElement error, string name) =>
        error.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var value)
            ? value
            : null;

    /// <summary>A body that is not Meta's JSON comes from something in between (a proxy, a load balancer).</summary>
    private static SendOutcome NonJson(int httpStatus) => httpStatus switch
    {
        401 or 403 => SendOutcome.Failure(FailureKind.CredentialsBroken, httpStatus.ToString(System.Globalization.CultureInfo.InvariantCulture), $"HTTP {httpStatus} without an error body"),
        429 => SendOutcome.Failure(FailureKind.Throughput, "429", "HTTP 429 without an error body"),
        _ => SendOutcome.Failure(FailureKind.Transient, "provider_unavailable", $"HTTP {httpStatus} with a body that is not the provider's JSON",
            possiblySent: IsGatewayTimeout(httpStatus)),
    };

    /// <summary>
    /// A 504 that carries no provider error code is a gateway's between us and Meta that passed the request on and timed
    /// out waiting for the answer: Meta may have sent the message. Like our own timeout, its outcome is unknown (SPEC §5:
    /// reconcile before sending again). Other 5xx, a gateway's 502 (most often it could not reach Meta) included, are
    /// retried as SPEC §5 lists them.
    /// </summary>
    private static bool IsGatewayTimeout(int httpStatus) => httpStatus == 504;
}
