using System.Diagnostics.Metrics;
using GovSg.Contracts;

namespace GovSg.Api.Extensions;

/// <summary>The Api's own instruments (meter <c>GovSg.Api</c>); framework, Npgsql and MassTransit meters come on top.</summary>
public sealed class ApiMetrics : IDisposable
{
    public const string MeterName = "GovSg.Api";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _stored;
    private readonly Counter<long> _deferred;
    private readonly Counter<long> _webhookStatuses;
    private readonly Counter<long> _webhookUnparsable;
    private readonly Counter<long> _webhookLargeRefused;
    private readonly Counter<long> _webhookOtherNumber;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _slotRefused;

    public ApiMetrics()
    {
        // Not "accepted": that is the provider's word for a message it took (the ACCEPTED status).
        _stored = _meter.CreateCounter<long>("govsg.messages.stored", description: "Messages stored as UNSENT, single sends and batch items");
        _deferred = _meter.CreateCounter<long>("govsg.commands.deferred",
            description: "Send commands not published at acceptance (broker down or slow); published when the broker is back");
        _webhookStatuses = _meter.CreateCounter<long>("govsg.webhook.statuses",
            description: "Provider statuses handed on, by the provider's status (sent, delivered, read, failed) and a failure's code");
        _webhookUnparsable = _meter.CreateCounter<long>("govsg.webhook.unparsable",
            description: "Correctly signed webhook bodies that could not be parsed (answered 200 and dropped)");
        _webhookLargeRefused = _meter.CreateCounter<long>("govsg.webhook.large_refused",
            description: "Webhooks over 64 KiB (or of unknown length) refused 503 because every place for a large body was taken");
        _webhookOtherNumber = _meter.CreateCounter<long>("govsg.webhook.other_number",
            description: "Provider statuses for a phone number id other than Webhooks:PhoneNumberId, ignored (SPEC §6): " +
                         "normal when the app serves other numbers, a wrong setting when no status of ours comes");
        _rateLimited = _meter.CreateCounter<long>("govsg.requests.rate_limited", description: "Requests refused with 429");
        _slotRefused = _meter.CreateCounter<long>("govsg.requests.slot_refused",
            description: "Requests refused 503 for want of a slot (ReadSlots, BatchSlots), by kind (read, batch)");
    }

    public void MessagesStored(int count) => _stored.Add(count);

    public void CommandDeferred() => _deferred.Add(1);

    public void WebhookStatuses(IEnumerable<ProviderStatus> statuses)
    {
        foreach (var status in statuses)
        {
            _webhookStatuses.Add(1, new KeyValuePair<string, object?>("status", status.Status),
                new KeyValuePair<string, object?>("code", status.ErrorCode));
        }
    }

    public void WebhookUnparsable() => _webhookUnparsable.Add(1);

    public void WebhookLargeRefused() => _webhookLargeRefused.Add(1);

    public void WebhookOtherNumber(int statuses) => _webhookOtherNumber.Add(statuses);

    public void RateLimited() => _rateLimited.Add(1);

    public void SlotRefused(string kind) => _slotRefused.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void Dispose() => _meter.Dispose();
}
