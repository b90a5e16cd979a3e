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

    public async Task PublishAsync(long messageId, CancellationToken cancellationToken)
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
            await bus.Publish(new SendMessage(messageId), timeout.Token);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            metrics.CommandDeferred();
            logger.LogWarning(exception, "Publishing the command for message {MessageId} failed; the sweeper will re-publish it", messageId);
        }
    }
}
