namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>The <c>status</c> values of a status webhook.</summary>
internal enum DeliveryStatus
{
    Sent,
    Delivered,
    Read,
    Failed,
}
