namespace GovSg.Contracts;

/// <summary>
/// The statuses of one provider webhook delivery, handed on as one event: Meta batches statuses, and one broker message
/// per delivery rather than per status keeps the broker's work proportional to deliveries.
/// </summary>
public sealed record ProviderStatusesReceived(IReadOnlyList<ProviderStatus> Statuses);
