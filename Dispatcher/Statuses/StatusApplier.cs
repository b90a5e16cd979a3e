using System.Diagnostics;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Options;
using Npgsql;

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
    /// Applies the events, together when it can. A status that cannot be applied (a bug, a value the database refuses)
    /// fails the statement of all: the statuses are then applied one by one, so that only the bad one is left to an
    /// operator, and the call still fails (the others, already applied, change nothing when tried again). The
    /// database going away meanwhile ends the call, to be tried again.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<StatusEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            await ApplyTogetherAsync(events, cancellationToken);
        }
        catch (Exception exception) when (events.Count > 1 && RetryExtensions.IsPermanent(exception))
        {
            logger.LogError(exception, "A batch of {Count} statuses failed; applying each on its own", events.Count);
            var failed = false;
            foreach (var single in events)
            {
                try
                {
                    await ApplyTogetherAsync([single], cancellationToken);
                }
                catch (Exception refused) when (RetryExtensions.IsPermanent(refused))
                {
                    logger.LogError(refused, "A {Status} status (message {MessageId}) cannot be applied",
                        single.Status, single.MessageId);
                    failed = true;
                }
            }

            if (failed)
            {
                throw;
            }
        }
    }

    /// <summary>
    /// Applies the events in a span, in the webhook's trace, linked to the spans of the calls its statuses report on
    /// (SPEC §9.1): from a status one finds the send. The sends are read by the statements that apply the statuses, and
    /// only when the span is recorded.
    /// </summary>
    private async Task ApplyTogetherAsync(IReadOnlyList<StatusEvent> events, CancellationToken cancellationToken)
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

    /// <summary>
    /// One pass over the parked statuses that are due; returns how many were taken care of. A pass the database refuses
    /// for something other than being away is made again one status at a time: a status whose own data PostgreSQL
    /// refuses is dropped and logged, any other failure leaves it parked and logged. One bad row must not hold up the
    /// others, nor the rest of the sweep, on every Dispatcher for good.
    /// </summary>
    public async Task<int> RetryPendingAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        try
        {
            return Retried(await store.RetryPendingAsync(now, _options.UnknownMessageRetention, PendingBatch, cancellationToken));
        }
        catch (Exception exception) when (RetryExtensions.IsPermanent(exception))
        {
            logger.LogError(exception, "Re-applying parked statuses failed; trying them one at a time");
        }

        var (handled, stayed) = (0, 0);
        Exception? stayedFor = null;
        foreach (var id in await store.DuePendingAsync(now, PendingBatch, cancellationToken))
        {
            try
            {
                handled += Retried(await store.RetryPendingAsync(id, now, _options.UnknownMessageRetention, cancellationToken));
            }
            catch (Exception exception) when (RefusesItsData(exception))
            {
                if (await store.DropPendingAsync(id, cancellationToken) is { } status)
                {
                    handled++;
                    logger.LogError(exception, "Dropped a parked {Status} status for provider message {ProviderMessageIdHash} " +
                        "that the database refuses", status.Status, ProviderErrors.Fingerprint(status.ProviderMessageId));
                }
            }
            catch (Exception exception) when (RetryExtensions.IsPermanent(exception))
            {
                // A bug or a grants mistake fails every status alike: one line a pass, not one a status.
                (stayed, stayedFor) = (stayed + 1, exception);
            }
        }

        if (stayedFor is not null)
        {
            logger.LogError(stayedFor, "Re-applying {Count} parked status(es) failed; they stay parked", stayed);
        }

        return handled;
    }

    /// <summary>
    /// PostgreSQL refused the values themselves (SQLSTATE classes 22, data exception; 23, integrity constraint; 54, a
    /// limit exceeded, such as an index entry too long): every later try of the same status fails alike.
    /// </summary>
    private static bool RefusesItsData(Exception exception) =>
        exception is PostgresException { SqlState.Length: 5 } refused && refused.SqlState[..2] is "22" or "23" or "54";

    private int Retried((int Retried, int Adopted, IReadOnlyList<StatusEvent> Dropped) pass)
    {
        metrics.Adopted(pass.Adopted);
        foreach (var status in pass.Dropped)
        {
            // WhatsApp message ids embed the recipient's number, so only a fingerprint of the id is logged.
            logger.LogWarning("Dropped a {Status} status for unknown provider message {ProviderMessageIdHash} after {Retention}",
                status.Status, ProviderErrors.Fingerprint(status.ProviderMessageId), _options.UnknownMessageRetention);
        }

        metrics.UnknownStatusesDropped(pass.Dropped.Count);
        return pass.Retried;
    }
}
