namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>Which status webhooks a recipient's messages produce (JSON: snake_case names).</summary>
internal enum WebhookMode
{
    /// <summary>sent, delivered, read.</summary>
    Normal,

    /// <summary>sent, then failed with the rule's error code.</summary>
    Failed,

    /// <summary>sent, read: a recipient whose phone skipped the delivery receipt.</summary>
    ReadWithoutDelivered,

    /// <summary>Every status POSTed twice, as Meta's redeliveries do.</summary>
    Duplicate,

    /// <summary>read, delivered, sent, all at read time, each with the time it happened.</summary>
    Reorder,

    /// <summary>sent is POSTed and acknowledged before the send call returns; delivered and read follow as usual.</summary>
    Overtake,

    /// <summary>No webhooks at all.</summary>
    None,
}
