using GovSg.Contracts;
using MassTransit;

namespace GovSg.Dispatcher.Statuses;

/// <summary>
/// Applies provider statuses in batches: the statuses of several webhook deliveries, in the order they arrived, in a
/// few UPDATEs (usually one). One delivery may hold the statuses of many webhooks (the Api merges those that queue up);
/// a status that cannot be applied fails its batch, which goes to provider-status_error once the others are applied
/// (<see cref="StatusApplier.ApplyAsync"/>).
/// </summary>
public sealed class ProviderStatusConsumer(StatusApplier applier) : IConsumer<Batch<ProviderStatusesReceived>>
{
    public async Task Consume(ConsumeContext<Batch<ProviderStatusesReceived>> context)
    {
        var events = context.Message.SelectMany(m => m.Message.Statuses.Select(StatusEvent.From).OfType<StatusEvent>()).ToList();
        if (events.Count > 0)
        {
            await applier.ApplyAsync(events, context.CancellationToken);
        }
    }
}
