using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Competing consumers on one quorum queue. Concurrency is high because each send mostly waits on the provider; the
/// short in-memory retry covers database hiccups only — provider failures are retried through PostgreSQL.
/// </summary>
public sealed class SendMessageConsumerDefinition : ConsumerDefinition<SendMessageConsumer>
{
    private readonly int _concurrency;

    public SendMessageConsumerDefinition(IOptions<WhatsAppOptions> options)
    {
        _concurrency = options.Value.MaxConcurrentSends;
        EndpointName = "send-message";
        ConcurrentMessageLimit = _concurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<SendMessageConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = _concurrency * 2;
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SetQuorumQueue();
        }

        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(100, 500, 2_000));
    }
}
