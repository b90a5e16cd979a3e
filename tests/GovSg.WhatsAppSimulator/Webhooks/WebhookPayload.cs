namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>Meta's webhook body for message statuses (WHATSAPP.md, "Webhooks").</summary>
internal sealed record WebhookPayload(string Object, IReadOnlyList<WebhookEntry> Entry);

internal sealed record WebhookEntry(string Id, IReadOnlyList<WebhookChange> Changes);

internal sealed record WebhookChange(string Field, WebhookValue Value);

internal sealed record WebhookValue(string MessagingProduct, WebhookMetadata Metadata, IReadOnlyList<WebhookStatus> Statuses);

internal sealed record WebhookMetadata(string DisplayPhoneNumber, string PhoneNumberId);

internal sealed record WebhookStatus(
    string Id,
    DeliveryStatus Status,
    string Timestamp,
    string RecipientId,
    WebhookConversation? Conversation,
    WebhookPricing? Pricing,
    IReadOnlyList<WebhookError>? Errors,
    string? BizOpaqueCallbackData);

internal sealed record WebhookConversation(string Id, WebhookConversationOrigin Origin);

internal sealed record WebhookConversationOrigin(string Type);

internal sealed record WebhookPricing(bool Billable, string PricingModel, string Category);

internal sealed record WebhookError(int Code, string Title, string Message, WebhookErrorData ErrorData);

internal sealed record WebhookErrorData(string Details);
