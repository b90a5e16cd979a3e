using GovSg.Contracts;
using MassTransit;

namespace GovSg.Dispatcher.Sending;

public sealed class SendMessageConsumer(MessageSender sender) : IConsumer<SendMessage>
{
    public Task Consume(ConsumeContext<SendMessage> context) =>
        sender.SendAsync(context.Message.MessageId, context.CancellationToken);
}
