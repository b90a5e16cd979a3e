using GovSg.Contracts;
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
        _concurrentBatches = ConcurrentBatches(options.Value);
        EndpointName = QueueNames.SendMessage;
    }

    /// <summary>How many commands one dispatcher may hold fetched but not yet finished.</summary>
    public static int PrefetchCount(WhatsAppOptions options) => PrefetchCount(ConcurrentBatches(options));

    public static int ConcurrentBatches(WhatsAppOptions options) =>
        Math.Max(2, (options.MaxConcurrentSends + BatchSize - 1) / BatchSize);

    private static int PrefetchCount(int concurrentBatches) => BatchSize * concurrentBatches * 2;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<SendMessageConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = PrefetchCount(_concurrentBatches);
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
