using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using GovSg.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Competing consumers on one quorum queue. Each command's consume lasts until its message is sent and its outcome
/// recorded; <see cref="SendBatches"/> gathers the commands consumed at once into batches, and enough batches run at
/// once to keep <see cref="WhatsAppOptions.MaxConcurrentSends"/> provider calls in flight, since each mostly waits on
/// the provider. Provider failures are retried through PostgreSQL; here a command is only retried in memory: until the
/// database is back when it is away, a few times for anything else. A command that still fails is discarded rather
/// than parked in an error queue nothing reads: it holds only an id, its message stays UNSENT in PostgreSQL, and the
/// sweeper re-publishes it.
/// </summary>
public sealed class SendMessageConsumerDefinition : ConsumerDefinition<SendMessageConsumer>
{
    private readonly int _prefetchCount;

    public SendMessageConsumerDefinition(IOptions<WhatsAppOptions> options)
    {
        _prefetchCount = PrefetchCount(options.Value);
        EndpointName = QueueNames.SendMessage;
    }

    /// <summary>
    /// How many commands one dispatcher may hold fetched but not yet finished, and consume at once: the batches under
    /// way, and as many waiting to form the next ones.
    /// </summary>
    public static int PrefetchCount(WhatsAppOptions options) => SendBatches.BatchSize * ConcurrentBatches(options) * 2;

    public static int ConcurrentBatches(WhatsAppOptions options) =>
        Math.Max(2, (options.MaxConcurrentSends + SendBatches.BatchSize - 1) / SendBatches.BatchSize);

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<SendMessageConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Every command fetched may be consumed at once: a consume lasts until its message is sent, and those that wait
        // for a batch to free its place form the next one. (MassTransit would otherwise take the batch commands'
        // limit for the whole endpoint.)
        endpointConfigurator.PrefetchCount = _prefetchCount;
        endpointConfigurator.ConcurrentMessageLimit = _prefetchCount;
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SetQuorumQueue();
        }

        endpointConfigurator.UseRetryWhileTheDatabaseIsAway();
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Ignore<NpgsqlException>(PostgresRefusals.IsUnavailable);
            retry.Ignore<TimeoutException>();
            retry.Intervals(100, 500, 2_000);
        });
        endpointConfigurator.DiscardFaultedMessages();
    }
}
