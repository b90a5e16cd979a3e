using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Gathers single send commands into batches of up to <see cref="BatchSize"/>, so claims and outcomes are written a
/// batch at a time, with <see cref="SendMessageConsumerDefinition.ConcurrentBatches"/> batches under way at once. A
/// batch is whatever queued up while every place was taken: a lone command is sent at once, and while the provider is
/// slow to answer the commands that wait form fuller batches, so the calls in flight grow towards
/// <see cref="WhatsAppOptions.MaxConcurrentSends"/> whatever the rate. (MassTransit's batches closed 5 ms after their
/// first command, so at a steady rate each held one message, and one Dispatcher sent at most 20 ÷ the provider's
/// latency in seconds messages a second.)
/// </summary>
public sealed class SendBatches : IAsyncDisposable
{
    public const int BatchSize = 50;

    private readonly Batcher<(SendCommand Command, CancellationToken Token), bool> _batcher;

    public SendBatches(MessageSender sender, IOptions<WhatsAppOptions> options) =>
        _batcher = new(async items =>
        {
            // The commands share one token: MassTransit cancels a channel's consumes together (the channel lost, or the
            // bus's stop timed out), and opens the next channel only once all of them have ended.
            await sender.SendAsync([.. items.Select(i => i.Command)], items[0].Token);
            return [.. items.Select(_ => true)];
        }, BatchSize, SendMessageConsumerDefinition.ConcurrentBatches(options.Value));

    /// <summary>Completes once the command's message is sent, or handed back, and its outcome recorded.</summary>
    public Task SendAsync(SendCommand command, CancellationToken cancellationToken) =>
        _batcher.RunAsync((command, cancellationToken));

    public ValueTask DisposeAsync() => _batcher.DisposeAsync();
}
