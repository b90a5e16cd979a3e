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
        try
        {
            var events = context.Message.SelectMany(m => Events(m.Message)).ToList();
            if (events.Count > 0)
            {
                await applier.ApplyAsync(events, context.CancellationToken);
            }
        }
        catch (Exception exception) when (context.Message.Length > 1 && RetryExtensions.IsPermanent(exception))
        {
            // A delivery that cannot be applied (a bug, a value the database refuses) fails its whole batch, which goes to
            // provider-status_error: the other deliveries are applied one by one first, so that only the bad one waits
            // for an operator. The batch still fails then, keeping the bad one (the others with it, already applied:
            // moved back, they change nothing). The database going away meanwhile leaves the loop, and the batch is
            // retried.
            logger.LogError(exception, "A batch of {Count} status deliveries failed; applying each on its own", context.Message.Length);
            var failed = false;
            foreach (var delivery in context.Message)
            {
                try
                {
                    if (Events(delivery.Message) is { Count: > 0 } events)
                    {
                        await applier.ApplyAsync(events, context.CancellationToken);
                    }
                }
                catch (Exception single) when (RetryExtensions.IsPermanent(single))
                {
                    logger.LogError(single, "Status delivery {MessageId} cannot be applied; it goes to the error queue", delivery.MessageId);
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
