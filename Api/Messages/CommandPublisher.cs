using GovSg.Api.Extensions;
using GovSg.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Messages;

/// <summary>
/// Publishes the send command for a message that is already committed. Best effort by design: PostgreSQL is the
/// source of truth, and the Dispatcher's sweeper re-publishes any UNSENT message whose command never arrived, so a
/// broker outage costs latency, never a message — and never a 5xx after the commit (SPEC §8).
/// </summary>
public sealed class CommandPublisher(
    IBusControl bus,
    IOptions<RabbitMqOptions> options,
    ApiMetrics metrics,
    ILogger<CommandPublisher> logger)
{
    private readonly TimeSpan _timeout = options.Value.PublishTimeout;

    /// <summary>
    /// Ids per batch command: a Dispatcher claims each command's messages in one statement, as it claims a batch of
    /// single commands (50), so a batch of 1,000 costs 20 broker messages instead of 1,000.
    /// </summary>
    public const int IdsPerCommand = 50;

    public Task PublishAsync(long messageId, CancellationToken cancellationToken) =>
        PublishAsync(new SendMessage(messageId), cancellationToken);

    /// <summary>Publishes the commands for messages accepted together, <see cref="IdsPerCommand"/> ids to a command.</summary>
    public Task PublishAsync(IReadOnlyList<long> messageIds, CancellationToken cancellationToken) =>
        Task.WhenAll(messageIds.Chunk(IdsPerCommand).Select(ids => PublishAsync(new SendMessages(ids), cancellationToken)));

    private async Task PublishAsync<TCommand>(TCommand command, CancellationToken cancellationToken) where TCommand : class
    {
        // Skipping the publish while the bus is down keeps requests fast during an outage; waiting for the
        // connection would hold every request for the full timeout.
        if (bus.CheckHealth().Status != BusHealthStatus.Healthy)
        {
            metrics.CommandDeferred();
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            await bus.Publish(command, timeout.Token);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            metrics.CommandDeferred();
            logger.LogWarning(exception, "Publishing {Command} failed; the sweeper will re-publish its messages", command);
        }
    }
}
