namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>One status of one message, waiting to be posted.</summary>
/// <param name="At">When it happened: the webhook's <c>timestamp</c>, whenever it is actually posted.</param>
/// <param name="ErrorCode">The error of a <c>failed</c> status.</param>
/// <param name="Duplicate">Post it once more after the first successful POST.</param>
/// <param name="BizOpaqueCallbackData">What the send carried, echoed unchanged as Meta does; null when none.</param>
internal sealed record StatusEvent(
    string Wamid,
    string RecipientId,
    DeliveryStatus Status,
    DateTimeOffset At,
    string ConversationId,
    int? ErrorCode = null,
    bool Duplicate = false,
    string? BizOpaqueCallbackData = null);
