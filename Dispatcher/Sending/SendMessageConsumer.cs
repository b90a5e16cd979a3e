using System.Diagnostics;
using GovSg.Contracts;
using GovSg.Dispatcher.Sweeping;
using MassTransit;
using MassTransit.Logging;

namespace GovSg.Dispatcher.Sending;

/// <summary>Sends one message; the commands consumed meanwhile share its batch (<see cref="SendBatches"/>).</summary>
public sealed class SendMessageConsumer(SendBatches batches, SendCommandSizes sizes) : IConsumer<SendMessage>
{
    public Task Consume(ConsumeContext<SendMessage> context)
    {
        sizes.Consumed(1, 1);
        return batches.SendAsync(new SendCommand(context.Message.MessageId, TraceOf(context), context.Message.Test),
            context.CancellationToken);
    }

    /// <summary>The trace the command was published in (MassTransit carries it in a header).</summary>
    internal static ActivityContext TraceOf(ConsumeContext message) =>
        ActivityContext.TryParse(message.Headers.Get<string>(DiagnosticHeaders.ActivityId), null, out var trace) ? trace : default;
}
