using System.Diagnostics;
using GovSg.Contracts;
using GovSg.Dispatcher.Sweeping;
using MassTransit;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Sends the messages of one batch command exactly as a batch of single commands is sent, each in its own trace when
/// the command carries one.
/// </summary>
public sealed class SendMessagesConsumer(MessageSender sender, SendCommandSizes sizes) : IConsumer<SendMessages>
{
    public Task Consume(ConsumeContext<SendMessages> context)
    {
        sizes.Consumed(1, context.Message.MessageIds.Length);
        var shared = SendMessageConsumer.TraceOf(context);
        var traces = context.Message.Traces;
        return sender.SendAsync(context.Message.MessageIds.Select((id, i) => new SendCommand(id, traces is null ? shared : Own(i), context.Message.Test)).ToList(),
            context.CancellationToken);

        ActivityContext Own(int i) => traces?.ElementAtOrDefault(i) is { } own ? SendTrace.Parse(own) ?? default : default;
    }
}
