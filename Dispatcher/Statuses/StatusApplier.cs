using System.Diagnostics;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Statuses;

/// <summary>Applies provider statuses and retries the ones that arrived before their message's provider id.</summary>
public sealed class StatusApplier(
    StatusStore store,
    SendTraceStore sendTraces,
    SweepSchedule sweeps,
    IOptions<StatusOptions> options,
    DispatcherMetrics metrics,
    TimeProvider time,
    ILogger<StatusApplier> logger)
{
    private const int PendingBatch = 1_000;

    private static readonly ActivitySource Source = new(DispatcherMetrics.Name);

    private readonly StatusOptions _options = options.Value;

    public async Task ApplyAsync(IReadOnlyList<StatusEvent> events, CancellationToken cancellationToken)
    {
        using var activity = await StartLinkedToSendsAsync(events, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var (parked, adopted) = await store.ApplyAsync(events, now, _options.FirstRetry, cancellationToken);
        if (parked > 0)
        {
            sweeps.Due(now + _options.FirstRetry);
        }

        metrics.StatusesApplied(events.Count - parked, parked);
        metrics.Adopted(adopted);
    }

    /// <summary>
    /// A span, in the webhook's trace, linked to the spans of the calls its statuses report on (SPEC §9.1): from a
    /// status one finds the send. The sends are looked up only when the span is recorded.
    /// </summary>
    private async Task<Activity?> StartLinkedToSendsAsync(IReadOnlyList<StatusEvent> events, CancellationToken cancellationToken)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var sends = await sendTraces.FindAsync([.. events.Select(e => e.ProviderMessageId).Distinct()], cancellationToken);
        var links = sends.Select(SendTrace.Parse).OfType<ActivityContext>().Distinct().Select(call => new ActivityLink(call));
        return Source.StartActivity("apply statuses", ActivityKind.Internal, parentContext: default, links: links);
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
