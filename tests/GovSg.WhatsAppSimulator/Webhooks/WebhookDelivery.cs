namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>One signed POST, kept whole so that a redelivery sends exactly the same bytes, as Meta's do.</summary>
/// <param name="Attempt">1 for the first POST, then one more for each redelivery.</param>
internal sealed record WebhookDelivery(
    string Url,
    ReadOnlyMemory<byte> Body,
    string Signature,
    IReadOnlyList<StatusEvent> Statuses,
    DateTimeOffset FirstAttemptAt,
    int Attempt = 1);
