using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace GovSg.Dispatcher.Sweeping;

/// <summary>
/// What the send queue holds: commands ready for delivery, how many dispatchers consume it, and how many messages a
/// command has lately carried.
/// </summary>
public readonly record struct QueueDepth(uint Ready, uint Consumers, double IdsPerCommand)
{
    /// <summary>The messages the ready commands are estimated to carry.</summary>
    public double ReadyMessages => Ready * IdsPerCommand;
}

/// <summary>Reads the send queue's depth (a passive declare on its own small connection).</summary>
public sealed class SendQueueProbe(IOptions<RabbitMqOptions> options, SendCommandSizes sizes, ILogger<SendQueueProbe> logger)
    : IAsyncDisposable
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;
    private bool _failing;

    /// <summary>The queue's depth, or null when the broker cannot be asked within <see cref="AskTimeout"/>.</summary>
    public async Task<QueueDepth?> DepthAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        // A broker that hangs (a frozen node, a partition that drops packets) would hold the sweep for the client's 20 s
        // RPC timeout, which ends as a cancellation, not an error.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AskTimeout);
        try
        {
            if (_channel is not { IsOpen: true })
            {
                await ResetAsync();
                var o = options.Value;
                var factory = new ConnectionFactory
                {
                    HostName = o.Host,
                    Port = o.Port,
                    VirtualHost = o.VirtualHost,
                    UserName = o.Username,
                    Password = o.Password,
                    ClientProvidedName = "govsg-dispatcher-queue-probe",
                    Ssl = new SslOption(o.Host, enabled: o.UseTls)
                    {
                        Version = HostingExtensions.BrokerTlsProtocols,
                        CertificateValidationCallback = o.CertificateValidation(),
                    },
                };
                _connection = await factory.CreateConnectionAsync(timeout.Token);
                _channel = await _connection.CreateChannelAsync(cancellationToken: timeout.Token);
            }

            var queue = await _channel.QueueDeclarePassiveAsync(QueueNames.SendMessage, timeout.Token);
            _failing = false;
            return new QueueDepth(queue.MessageCount, queue.ConsumerCount, sizes.IdsPerCommand);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The sweeper asks only while the bus is healthy, so a failure here is this probe's own (its connection, its
            // permissions), and until it passes no lost command of a never-claimed message is re-published: worth a
            // warning, once, not every sweep.
            if (!_failing)
            {
                logger.LogWarning("Could not read the depth of {Queue} ({Error}); lost commands of never-claimed messages are not re-published until it can",
                    QueueNames.SendMessage, exception.Message);
            }

            _failing = true;
            logger.LogDebug(exception, "Could not read the depth of {Queue}", QueueNames.SendMessage);
            await ResetAsync();
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ResetAsync();
        _gate.Dispose();
    }

    private async Task ResetAsync()
    {
        if (_channel is not null)
        {
            await _channel.DisposeAsync();
            _channel = null;
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }
}
