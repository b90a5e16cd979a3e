using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using MassTransit;

namespace GovSg.Dispatcher.Statuses;

/// <summary>
/// Applies provider statuses in batches: the statuses of several webhook deliveries, in the order they arrived, in a
/// few UPDATEs (usually one).
/// </summary>
public sealed class ProviderStatusConsumer(StatusApplier applier, ILogger<ProviderStatusConsumer> logger)
    : IConsumer<Batch<ProviderStatusesReceived>>
{
    public async Task Consume(ConsumeContext<Batch<ProviderStatusesReceived>> context)
    {
        var events = context.Message.SelectMany(m => Events(m.Message)).ToList();
        if (events.Count == 0)
        {
            return;
        }

        try
        {
            await applier.ApplyAsync(events, context.CancellationToken);
        }
        catch (Exception exception) when (events.Count > 1 && RetryExtensions.IsPermanent(exception))
        {
            // A status that cannot be applied (a bug, a value the database refuses) fails its whole batch, which goes to
            // provider-status_error. One delivery may hold the statuses of many webhooks (the Api merges those that
            // queue up), so the statuses are applied one by one first, and only the bad one waits for an operator. The
            // batch still fails then, keeping it (the others with it, already applied: moved back, they change nothing).
            // The database going away meanwhile leaves the loop, and the batch is retried.
            logger.LogError(exception, "A batch of {Count} statuses failed; applying each on its own", events.Count);
            var failed = false;
            foreach (var single in events)
            {
                try
                {
                    await applier.ApplyAsync([single], context.CancellationToken);
                }
                catch (Exception refused) when (RetryExtensions.IsPermanent(refused))
                {
                    logger.LogError(refused, "A {Status} status (message {MessageId}) cannot be applied; its delivery goes to the error queue",
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

    private static List<StatusEvent> Events(ProviderStatusesReceived delivery) =>
        delivery.Statuses.Select(StatusEvent.From).OfType<StatusEvent>().ToList();
}
