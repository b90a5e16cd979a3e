namespace GovSg.Contracts;

/// <summary>
/// One status from a provider webhook, as the provider reported it. <see cref="Status"/> is the provider's word
/// (<c>sent</c>, <c>delivered</c>, <c>read</c>, <c>failed</c>); <see cref="Timestamp"/> is the provider's time.
/// The recipient is deliberately left out: the bus carries ids, never phone numbers.
/// <see cref="OpaqueCallbackData"/> is the <c>biz_opaque_callback_data</c> the provider echoed from our send call
/// (<c>m:&lt;message id&gt;:&lt;attempt&gt;</c>, ids only), or null when it echoed none.
/// </summary>
public sealed record ProviderStatus(
    string ProviderMessageId,
    string Status,
    DateTime Timestamp,
    string? ErrorCode,
    string? ErrorDescription,
    string? OpaqueCallbackData = null);
