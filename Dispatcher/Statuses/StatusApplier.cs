using System.Diagnostics;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Statuses;

/// <summary>Applies provider statuses and retries the ones that arrived before their message's provider id.</summary>
public sealed class StatusApplier(
    StatusStore store,
    SweepSchedule sweeps,
    IOptions<StatusOptions> options,
    DispatcherMetrics metrics,
    TimeProvider time,
    ILogger<StatusApplier> logger)
{
    private const int PendingBatch = 1_000;

    private static readonly ActivitySource Source = new(DispatcherMetrics.Name);

    private readonly StatusOptions _options = options.Value;

    /// <summary>
    /// Applies the events in a span, in the webhook's trace, linked to the spans of the calls its statuses report on
    /// (SPEC §9.1): from a status one finds the send. The sends are read by the statements that apply the statuses, and
    /// only when the span is recorded.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<StatusEvent> events, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("apply statuses", ActivityKind.Internal);
        var now = time.GetUtcNow().UtcDateTime;
        var (parked, adopted, sendTraces) = await store.ApplyAsync(events, now, _options.FirstRetry,
            withSendTraces: activity is { IsAllDataRequested: true }, cancellationToken);
        foreach (var call in sendTraces.Select(SendTrace.Parse).OfType<ActivityContext>().Distinct())
        {
            activity!.AddLink(new ActivityLink(call));
        }

        if (parked > 0)
        {
            sweeps.Due(now + _options.FirstRetry);
        }

        metrics.StatusesApplied(events.Count - parked, parked);
        metrics.Adopted(adopted);
    }

    /// <summary>One pass over the parked statuses that are due; returns how many were looked at.</summary>
    public async Task<int> RetryPendingAsync(CancellationToken cancellationToken)
    {
        var (retried, adopted, dropped) = await store.RetryPendingAsync(time.GetUtcNow().UtcDateTime,
            _options.UnknownMessageRetention, PendingBatch, cancellationToken);
        metrics.Adopted(adopted);
        foreach (var status in dropped)
        {
            // WhatsApp message ids embed the recipient's number, so only a fingerprint of the id is logged.
            logger.LogWarning("Dropped a {Status} status for unknown provider message {ProviderMessageIdHash} after {Retention}",
                status.Status, ProviderErrors.Fingerprint(status.ProviderMessageId), _options.UnknownMessageRetention);
        }

        metrics.UnknownStatusesDropped(dropped.Count);
        return retried;
    }
}
