using GovSg.Contracts;

namespace GovSg.Dispatcher.Statuses;

/// <summary>A provider status in our terms: the message status it moves towards and the provider's time.</summary>
public sealed record StatusEvent(
    string ProviderMessageId,
    string Status,
    DateTime OccurredAt,
    string? ErrorCode,
    string? ErrorDescription)
{
    /// <summary>Maps the provider's word; null for kinds we do not track (e.g. <c>deleted</c>, <c>warning</c>).</summary>
    public static StatusEvent? From(ProviderStatus received)
    {
        var status = received.Status switch
        {
            "sent" => "SENT",
            "delivered" => "DELIVERED",
            "read" => "READ",
            "failed" => "ERROR",
            _ => null,
        };
        return status is null
            ? null
            : new StatusEvent(received.ProviderMessageId, status, received.Timestamp, received.ErrorCode, received.ErrorDescription);
    }
}
