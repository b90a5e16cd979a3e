using GovSg.Contracts;
using MassTransit;

namespace GovSg.Dispatcher.Statuses;

/// <summary>
/// Applies provider statuses in batches: the statuses of several webhook deliveries, in the order they arrived, in a
/// few UPDATEs (usually one).
/// </summary>
public sealed class ProviderStatusConsumer(StatusApplier applier) : IConsumer<Batch<ProviderStatusesReceived>>
{
    public Task Consume(ConsumeContext<Batch<ProviderStatusesReceived>> context)
    {
        var events = context.Message
            .SelectMany(m => m.Message.Statuses)
            .Select(StatusEvent.From)
            .OfType<StatusEvent>()
            .ToList();
        return events.Count == 0 ? Task.CompletedTask : applier.ApplyAsync(events, context.CancellationToken);
    }
}
