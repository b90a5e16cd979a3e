using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Competing consumers on one quorum queue, taking commands in batches of up to 50 (or whatever arrived within 5 ms) so
/// claims and acceptances are written a batch at a time; enough batches run at once to keep
/// <see cref="WhatsAppOptions.MaxConcurrentSends"/> provider calls in flight, since each mostly waits on the provider.
/// The short in-memory retry covers database hiccups only — provider failures are retried through PostgreSQL.
/// </summary>
public sealed class SendMessageConsumerDefinition : ConsumerDefinition<SendMessageConsumer>
{
    private const int BatchSize = 50;

    private readonly int _concurrentBatches;

    public SendMessageConsumerDefinition(IOptions<WhatsAppOptions> options)
    {
        _concurrentBatches = Math.Max(2, (options.Value.MaxConcurrentSends + BatchSize - 1) / BatchSize);
        EndpointName = "send-message";
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<SendMessageConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = BatchSize * _concurrentBatches * 2;
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SetQuorumQueue();
        }

        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(100, 500, 2_000));
        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(BatchSize)
            .SetTimeLimit(TimeSpan.FromMilliseconds(5))
            .SetConcurrencyLimit(_concurrentBatches));
    }
}
