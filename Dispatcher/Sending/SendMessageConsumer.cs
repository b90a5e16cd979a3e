using System.Diagnostics;
using GovSg.Contracts;
using GovSg.Dispatcher.Sweeping;
using MassTransit;
using MassTransit.Logging;

namespace GovSg.Dispatcher.Sending;

/// <summary>Sends a batch of messages: one claim statement for all of them, then one provider call each.</summary>
public sealed class SendMessageConsumer(MessageSender sender, SendCommandSizes sizes) : IConsumer<Batch<SendMessage>>
{
    public Task Consume(ConsumeContext<Batch<SendMessage>> context)
    {
        sizes.Consumed(context.Message.Length, context.Message.Length);
        return sender.SendAsync(context.Message.Select(m => new SendCommand(m.Message.MessageId, TraceOf(m), m.Message.Test)).ToList(),
            context.CancellationToken);
    }

    /// <summary>The trace the command was published in (MassTransit carries it in a header).</summary>
    internal static ActivityContext TraceOf(ConsumeContext message) =>
        ActivityContext.TryParse(message.Headers.Get<string>(DiagnosticHeaders.ActivityId), null, out var trace) ? trace : default;
}
