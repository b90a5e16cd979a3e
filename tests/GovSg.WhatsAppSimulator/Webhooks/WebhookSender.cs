using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GovSg.WhatsAppSimulator.Control;
using GovSg.WhatsAppSimulator.Messages;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>Builds, signs and POSTs status webhooks, and redelivers them until they are acknowledged.</summary>
internal sealed class WebhookSender(
    IHttpClientFactory httpClients,
    WebhookQueue queue,
    SettingsStore settings,
    SimulatorStats stats,
    IOptions<SimulatorOptions> options,
    IOptions<JsonOptions> json,
    TimeProvider time,
    ILogger<WebhookSender> logger)
{
    public const string HttpClientName = "webhooks";

    private static readonly WebhookConversationOrigin UtilityOrigin = new("utility");
    private static readonly WebhookPricing UtilityPricing = new(Billable: true, "CBP", "utility");

    private readonly SimulatorOptions _options = options.Value;
    private readonly byte[] _appSecret = Encoding.UTF8.GetBytes(options.Value.AppSecret);

    /// <summary>One POST carrying <paramref name="statuses"/> in a single change, as Meta batches them.</summary>
    public WebhookDelivery Prepare(IReadOnlyList<StatusEvent> statuses)
    {
        var payload = new WebhookPayload(
            "whatsapp_business_account",
            [
                new WebhookEntry(
                    _options.BusinessAccountId,
                    [
                        new WebhookChange(
                            "messages",
                            new WebhookValue(
                                "whatsapp",
                                new WebhookMetadata(_options.DisplayPhoneNumber, _options.PhoneNumberId),
                                [.. statuses.Select(ToWire)])),
                    ]),
            ]);
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, json.Value.SerializerOptions);
        return new WebhookDelivery(settings.Current.WebhookUrl, body, Sign(body), statuses, time.GetUtcNow());
    }

    /// <summary>
    /// POSTs once. Anything but a 200 (another status, a refused connection, a timeout) puts the delivery back on the
    /// queue with exponential backoff until the retry budget is spent, as Meta redelivers.
    /// </summary>
    public async Task SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        if (await PostAsync(delivery, cancellationToken))
        {
            stats.WebhookPosted(delivery.Statuses.Count);
            ScheduleDuplicates(delivery.Statuses);
            return;
        }

        stats.WebhookFailed();
        ScheduleRetry(delivery);
    }

    private async Task<bool> PostAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new ReadOnlyMemoryContent(delivery.Body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Hub-Signature-256", delivery.Signature);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException)
        {
            logger.LogDebug(exception, "Webhook POST to {Url} failed", delivery.Url);
            return false;
        }
    }

    private void ScheduleRetry(WebhookDelivery delivery)
    {
        var now = time.GetUtcNow();
        var wait = TimeSpan.FromMilliseconds(_options.WebhookRetryInitialDelayMs * Math.Pow(2, delivery.Attempt - 1));
        if (now + wait - delivery.FirstAttemptAt > TimeSpan.FromMilliseconds(_options.WebhookRetryBudgetMs))
        {
            stats.WebhookDropped();
            logger.LogWarning(
                "Gave up on a webhook of {Count} statuses to {Url} after {Attempts} attempts",
                delivery.Statuses.Count,
                delivery.Url,
                delivery.Attempt);
            return;
        }

        queue.ScheduleRetry(delivery with { Attempt = delivery.Attempt + 1 }, now + wait);
        stats.WebhookRetried();
    }

    /// <summary>The second copy goes only after the first was acknowledged, so the two never share a POST.</summary>
    private void ScheduleDuplicates(IReadOnlyList<StatusEvent> statuses)
    {
        var now = time.GetUtcNow();
        foreach (var status in statuses)
        {
            if (status.Duplicate)
            {
                queue.Schedule(status with { Duplicate = false }, now);
            }
        }
    }

    private string Sign(byte[] body) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(_appSecret, body));

    private static WebhookStatus ToWire(StatusEvent status)
    {
        var billable = status.Status is DeliveryStatus.Sent or DeliveryStatus.Delivered;
        return new WebhookStatus(
            status.Wamid,
            status.Status,
            status.At.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            status.RecipientId,
            billable ? new WebhookConversation(status.ConversationId, UtilityOrigin) : null,
            billable ? UtilityPricing : null,
            status.ErrorCode is { } code ? [ToError(code)] : null,
            status.BizOpaqueCallbackData);
    }

    private static WebhookError ToError(int code)
    {
        var title = GraphErrors.TitleOf(code);
        var details = code == GraphErrors.Undeliverable ? "Message Undeliverable." : title;
        return new WebhookError(code, title, title, new WebhookErrorData(details));
    }
}
