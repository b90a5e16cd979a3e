using GovSg.Contracts;
using GovSg.Dispatcher.Sending;

namespace GovSg.Dispatcher.Statuses;

/// <summary>
/// A provider status in our terms: the message status it moves towards and the provider's time, and — when the
/// provider echoed our <see cref="CallbackData"/> — the message and attempt whose call it belongs to.
/// </summary>
public sealed record StatusEvent(
    string ProviderMessageId,
    string Status,
    DateTime OccurredAt,
    string? ErrorCode,
    string? ErrorDescription,
    long? MessageId = null,
    int? Attempt = null)
{
    /// <summary>Maps the provider's word; null for kinds we do not track (e.g. <c>deleted</c>, <c>warning</c>).</summary>
    public static StatusEvent? From(ProviderStatus received)
    {
        var status = received.Status switch
        {
            "sent" => MessageStatus.Sent,
            "delivered" => MessageStatus.Delivered,
            "read" => MessageStatus.Read,
            "failed" => MessageStatus.Error,
            _ => null,
        };
        if (status is null)
        {
            return null;
        }

        var named = CallbackData.TryParse(received.OpaqueCallbackData, out var messageId, out var attempt);
        return new StatusEvent(received.ProviderMessageId, status, received.Timestamp, received.ErrorCode,
            received.ErrorDescription, named ? messageId : null, named ? attempt : null);
    }
}
