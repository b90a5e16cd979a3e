using GovSg.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Batch commands arrive on the single sends' queue, so one queue depth still measures the whole backlog and the
/// endpoint's prefetch, quorum type and retry (<see cref="SendMessageConsumerDefinition"/>) cover both. Each command
/// is already a batch, so as many run at once as batches of single commands do.
/// </summary>
public sealed class SendMessagesConsumerDefinition : ConsumerDefinition<SendMessagesConsumer>
{
    public SendMessagesConsumerDefinition(IOptions<WhatsAppOptions> options)
    {
        EndpointName = QueueNames.SendMessage;
        ConcurrentMessageLimit = SendMessageConsumerDefinition.ConcurrentBatches(options.Value);
    }
}
