using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Measurement;
using MassTransit;
using RabbitMQ.Client;

namespace GovSg.LoadGenerator.Ceilings;

/// <summary>
/// Confirmed publishes per second through MassTransit into a durable quorum queue, as the Api publishes SendMessage
/// commands into the Dispatcher's <c>send-message</c> queue (which has one more exchange-to-exchange hop on the way). The
/// throwaway exchange and queue are deleted afterwards, with whatever piled up in the queue.
/// </summary>
internal sealed class PublishCeiling(RabbitMqSettings rabbit, TimeProvider time)
{
    private const string MessageExchange = "loadgen-ceiling-probe";
    private const string Queue = "loadgen-ceiling";

    public async Task<double> MeasureAsync(CeilingOptions options, CancellationToken cancellationToken)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(configure =>
        {
            configure.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, host =>
            {
                host.Username(rabbit.Username);
                host.Password(rabbit.Password);
                host.PublisherConfirmation = true;
            });
            configure.Message<CeilingProbe>(message => message.SetEntityName(MessageExchange));
            configure.Publish<CeilingProbe>(publish => publish.BindQueue(MessageExchange, Queue, queue => queue.SetQuorumQueue()));
        });

        await bus.StartAsync(cancellationToken);
        try
        {
            long published = 0;
            return await Throughput.MeasureAsync(options.Concurrency, CeilingOptions.Warmup, options.Duration,
                token => bus.Publish(new CeilingProbe(Interlocked.Increment(ref published)), token), time, cancellationToken);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
            await DeleteTopologyAsync();
        }
    }

    private async Task DeleteTopologyAsync()
    {
        var factory = new ConnectionFactory
        {
            HostName = rabbit.Host,
            Port = rabbit.Port,
            VirtualHost = rabbit.VirtualHost,
            UserName = rabbit.Username,
            Password = rabbit.Password,
        };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(Queue);
        await channel.ExchangeDeleteAsync(MessageExchange);
    }
}
