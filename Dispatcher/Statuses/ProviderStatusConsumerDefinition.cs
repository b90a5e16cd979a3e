using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using MassTransit;

namespace GovSg.Dispatcher.Statuses;

/// <summary>
/// Batches of up to 50 webhook deliveries (each one or many statuses), or whatever arrived within 20 ms, two at a
/// time: statuses for one message usually arrive close together, and more batches in flight would mostly wait on each
/// other's row locks. Meta was answered 200 long ago and will not send these statuses again, so a batch that fails
/// because the database is away (or a deadlock) is retried in memory until the database is back, however long that
/// takes: giving up would silently lose a `failed`. Every event is idempotent, so a retried batch is harmless. The
/// broker's <c>consumer_timeout</c> bounds "however long" (deploy/k8s/rabbitmq-cluster.yaml raises it to 24 h).
/// </summary>
public sealed class ProviderStatusConsumerDefinition : ConsumerDefinition<ProviderStatusConsumer>
{
    private const int BatchSize = 50;
    private const int ConcurrentBatches = 2;

    public ProviderStatusConsumerDefinition() => EndpointName = QueueNames.ProviderStatus;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<ProviderStatusConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = BatchSize * ConcurrentBatches * 2;
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SetQuorumQueue();
        }

        endpointConfigurator.UseRetryWhileTheDatabaseIsAway();
        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(BatchSize)
            .SetTimeLimit(TimeSpan.FromMilliseconds(20))
            .SetConcurrencyLimit(ConcurrentBatches));
    }
}
