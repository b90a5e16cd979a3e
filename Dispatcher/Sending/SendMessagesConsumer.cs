using GovSg.Contracts;
using MassTransit;

namespace GovSg.Dispatcher.Sending;

/// <summary>Sends the messages of one batch command exactly as a batch of single commands is sent.</summary>
public sealed class SendMessagesConsumer(MessageSender sender) : IConsumer<SendMessages>
{
    public Task Consume(ConsumeContext<SendMessages> context)
    {
        var trace = SendMessageConsumer.TraceOf(context);
        return sender.SendAsync(context.Message.MessageIds.Select(id => new SendCommand(id, trace)).ToList(),
            context.CancellationToken);
    }
}
