using GovSg.WhatsAppSimulator.Control;
using GovSg.WhatsAppSimulator.Messages;

namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>Plans the status webhooks of an accepted message according to its recipient's webhook mode.</summary>
internal sealed class StatusScheduler(WebhookQueue queue, WebhookSender sender, TimeProvider time)
{
    public async Task ScheduleAsync(
        string wamid,
        string recipientId,
        string? opaqueData,
        WebhookMode mode,
        int failureCode,
        SimulationSettings settings,
        CancellationToken cancellationToken)
    {
        if (settings.WebhookUrl.Length == 0 || mode == WebhookMode.None)
        {
            return;
        }

        var now = time.GetUtcNow();
        var sentAt = now.AddMilliseconds(settings.SentDelayMs);
        var deliveredAt = now.AddMilliseconds(settings.DeliveredDelayMs);
        var readAt = now.AddMilliseconds(settings.ReadDelayMs);
        var conversationId = ProviderIds.NewConversationId();
        StatusEvent Status(DeliveryStatus status, DateTimeOffset at, int? errorCode = null) =>
            new(wamid, recipientId, status, at, conversationId, errorCode, Duplicate: mode == WebhookMode.Duplicate, opaqueData);

        switch (mode)
        {
            case WebhookMode.Failed:
                queue.Schedule(Status(DeliveryStatus.Sent, sentAt), sentAt);
                queue.Schedule(Status(DeliveryStatus.Failed, deliveredAt, failureCode), deliveredAt);
                break;
            case WebhookMode.ReadWithoutDelivered:
                queue.Schedule(Status(DeliveryStatus.Sent, sentAt), sentAt);
                queue.Schedule(Status(DeliveryStatus.Read, readAt), readAt);
                break;
            case WebhookMode.Reorder:
                queue.Schedule(Status(DeliveryStatus.Read, readAt), readAt);
                queue.Schedule(Status(DeliveryStatus.Delivered, deliveredAt), readAt);
                queue.Schedule(Status(DeliveryStatus.Sent, sentAt), readAt);
                break;
            case WebhookMode.Overtake:
                // Posted inline, so the receiver has acknowledged "sent" before the send call's own answer leaves.
                await sender.SendAsync(sender.Prepare([Status(DeliveryStatus.Sent, now)]), cancellationToken);
                queue.Schedule(Status(DeliveryStatus.Delivered, deliveredAt), deliveredAt);
                queue.Schedule(Status(DeliveryStatus.Read, readAt), readAt);
                break;
            default:
                queue.Schedule(Status(DeliveryStatus.Sent, sentAt), sentAt);
                queue.Schedule(Status(DeliveryStatus.Delivered, deliveredAt), deliveredAt);
                queue.Schedule(Status(DeliveryStatus.Read, readAt), readAt);
                break;
        }
    }
}
