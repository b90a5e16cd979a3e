using System.Collections.Concurrent;
using GovSg.Api.Extensions;
using GovSg.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Messages;

/// <summary>
/// Publishes the send command for a message that is already committed, never holding the request for the broker
/// longer than <see cref="RabbitMqOptions.PublishTimeout"/> and not at all while the bus is known to be down: a 5xx
/// after the commit would invite a second send (SPEC §8). A command that could not be published waits here and goes
/// out as soon as the bus's endpoint is ready again (the broker is back), not when the lost-command sweep would find
/// it; the sweep stays the safety net for commands this replica could not keep (it stopped, or too many waited).
/// </summary>
public sealed class CommandPublisher : IReceiveEndpointObserver
{
    /// <summary>
    /// Ids per batch command: a Dispatcher claims each command's messages in one statement, as it claims a batch of
    /// single commands (50), so a batch of 1,000 costs 20 broker messages instead of 1,000.
    /// </summary>
    public const int IdsPerCommand = 50;

    /// <summary>About half an hour of a full number's traffic; beyond it the sweeper re-publishes what waits.</summary>
    public const int MaxWaiting = 100_000;

    private readonly IBusControl _bus;
    private readonly ApiMetrics _metrics;
    private readonly ILogger<CommandPublisher> _logger;
    private readonly TimeSpan _timeout;
    private readonly ConcurrentQueue<long> _waiting = new();
    private int _waitingCount;
    private int _draining;

    public CommandPublisher(IBusControl bus, IOptions<RabbitMqOptions> options, ApiMetrics metrics, ILogger<CommandPublisher> logger)
    {
        _bus = bus;
        _metrics = metrics;
        _logger = logger;
        _timeout = options.Value.PublishTimeout;
        // Observed from here rather than registered with the bus, which would need this publisher to build the bus.
        bus.ConnectReceiveEndpointObserver(this);
    }

    public Task PublishAsync(long messageId, CancellationToken cancellationToken) =>
        PublishAsync(new SendMessage(messageId), [messageId], cancellationToken);

    /// <summary>Publishes the commands for messages accepted together, <see cref="IdsPerCommand"/> ids to a command.</summary>
    public Task PublishAsync(IReadOnlyList<long> messageIds, CancellationToken cancellationToken) =>
        Task.WhenAll(messageIds.Chunk(IdsPerCommand).Select(ids => PublishAsync(new SendMessages(ids), ids, cancellationToken)));

    /// <summary>The bus's endpoint (re)connected: the broker accepts again, so what waited is published now.</summary>
    public Task Ready(ReceiveEndpointReady ready)
    {
        if (Volatile.Read(ref _waitingCount) > 0)
        {
            _ = PublishWaitingAsync();
        }

        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    private async Task PublishAsync<TCommand>(TCommand command, IReadOnlyList<long> ids, CancellationToken cancellationToken)
        where TCommand : class
    {
        // The bus's own endpoint follows the connection (MessagingExtensions): while it is down, waiting for the
        // broker would hold every request for the full timeout.
        if (!BusIsUp())
        {
            Wait(ids);
            return;
        }

        try
        {
            await PublishWithinTimeoutAsync(command, cancellationToken);
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Publishing {Command} failed; it is published when the broker is back", command);
            Wait(ids);
            // The broker may have come back while this publish failed, after its recovery was handled.
            if (BusIsUp())
            {
                _ = PublishWaitingAsync();
            }
        }
    }

    /// <summary>
    /// A publish whose broker is stopping may ignore its token (it waits for a confirm that never comes), so the wait
    /// itself is bounded: the request is answered, and the command waits for the broker's return.
    /// </summary>
    private async Task PublishWithinTimeoutAsync<TCommand>(TCommand command, CancellationToken cancellationToken) where TCommand : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        await _bus.Publish(command, timeout.Token).WaitAsync(timeout.Token);
    }

    private bool BusIsUp() => _bus.CheckHealth().Status == BusHealthStatus.Healthy;

    private void Wait(IReadOnlyList<long> ids)
    {
        foreach (var id in ids)
        {
            _metrics.CommandDeferred();
            if (Interlocked.Increment(ref _waitingCount) > MaxWaiting)
            {
                Interlocked.Decrement(ref _waitingCount);
                continue;
            }

            _waiting.Enqueue(id);
        }
    }

    /// <summary>Publishes every waiting command, one drain at a time; a failure puts the rest back for the next recovery.</summary>
    private async Task PublishWaitingAsync()
    {
        if (Interlocked.Exchange(ref _draining, 1) == 1)
        {
            return;
        }

        var published = 0;
        try
        {
            while (Take() is { Length: > 0 } ids)
            {
                try
                {
                    await PublishWithinTimeoutAsync(new SendMessages(ids), CancellationToken.None);
                    published += ids.Length;
                }
                catch (Exception exception)
                {
                    _logger.LogWarning(exception, "Publishing waiting commands failed; the rest wait for the broker's return");
                    Put(ids);
                    return;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _draining, 0);
            if (published > 0)
            {
                _logger.LogInformation("Published {Count} command(s) that waited for the broker", published);
            }
        }
    }

    private long[] Take()
    {
        var ids = new List<long>(IdsPerCommand);
        while (ids.Count < IdsPerCommand && _waiting.TryDequeue(out var id))
        {
            Interlocked.Decrement(ref _waitingCount);
            ids.Add(id);
        }

        return [.. ids];
    }

    private void Put(long[] ids)
    {
        foreach (var id in ids)
        {
            Interlocked.Increment(ref _waitingCount);
            _waiting.Enqueue(id);
        }
    }
}
