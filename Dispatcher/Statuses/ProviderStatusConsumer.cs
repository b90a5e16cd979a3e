using GovSg.Contracts;
using MassTransit;

namespace GovSg.Dispatcher.Statuses;

/// <summary>Applies provider statuses in batches: one transaction and a few UPDATEs for up to two hundred events.</summary>
public sealed class ProviderStatusConsumer(StatusApplier applier) : IConsumer<Batch<ProviderStatusReceived>>
{
    public Task Consume(ConsumeContext<Batch<ProviderStatusReceived>> context)
    {
        var events = context.Message
            .Select(m => StatusEvent.From(m.Message))
            .OfType<StatusEvent>()
            .ToList();
        return events.Count == 0 ? Task.CompletedTask : applier.ApplyAsync(events, context.CancellationToken);
    }
}
