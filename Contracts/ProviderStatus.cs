namespace GovSg.Contracts;

/// <summary>
/// One status from a provider webhook, as the provider reported it. <see cref="Status"/> is the provider's word
/// (<c>sent</c>, <c>delivered</c>, <c>read</c>, <c>failed</c>); <see cref="Timestamp"/> is the provider's time.
/// The recipient is deliberately left out: the bus carries ids, never phone numbers.
/// </summary>
public sealed record ProviderStatus(
    string ProviderMessageId,
    string Status,
    DateTime Timestamp,
    string? ErrorCode,
    string? ErrorDescription);
