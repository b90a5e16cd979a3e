using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using GovSg.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Competing consumers on one quorum queue, taking commands in batches of up to 50 (or whatever arrived within 5 ms) so
/// claims and acceptances are written a batch at a time; enough batches run at once to keep
/// <see cref="WhatsAppOptions.MaxConcurrentSends"/> provider calls in flight, since each mostly waits on the provider.
/// Provider failures are retried through PostgreSQL; here a command is only retried in memory: until the database is
/// back when it is away, a few times for anything else. A command that still fails is discarded rather than parked in
/// an error queue nothing reads: it holds only an id, its message stays UNSENT in PostgreSQL, and the sweeper
/// re-publishes it.
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

        endpointConfigurator.UseRetryWhileTheDatabaseIsAway();
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Ignore<NpgsqlException>(PostgresRefusals.IsUnavailable);
            retry.Ignore<TimeoutException>();
            retry.Intervals(100, 500, 2_000);
        });
        endpointConfigurator.DiscardFaultedMessages();
        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(BatchSize)
            .SetTimeLimit(TimeSpan.FromMilliseconds(5))
            .SetConcurrencyLimit(_concurrentBatches));
    }
}
