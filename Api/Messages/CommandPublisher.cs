using System.Collections.Concurrent;
using System.Diagnostics;
using GovSg.Api.Database;
using GovSg.Api.Extensions;
using GovSg.Contracts;
using GovSg.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Messages;

/// <summary>
/// Publishes the send commands of messages that are already committed. A single send is answered as soon as its
/// message is committed, without waiting for the broker's confirm: the answer is 201 whatever happens to the publish
/// (SPEC §8: a 5xx after the commit would invite a second send), so the wait only made every answer later. A batch send
/// waits for its commands' confirms, which ride along with the statement that stored up to 1,000 messages, at most
/// <see cref="RabbitMqOptions.PublishTimeout"/> and not at all while the bus is known to be down. A command the broker
/// does not take (the bus is down, or neither its publish nor a drain's second try was confirmed within that time) is
/// handed to the Dispatchers' sweep in the database (<see cref="MessageStore.HandToSweepAsync"/>), which publishes it as
/// soon as a Dispatcher reaches the broker — not when the lost-command sweep would find it — so it depends neither on
/// this replica outliving the outage (SIGKILL, a lost node) nor on its own connection coming back. Only while the
/// database refuses the hand-over too does it wait here, and a drain publishes it as soon as the broker takes it again;
/// the lost-command sweep stays the safety net for what this replica could neither publish nor hand over and then
/// could not keep (it was killed, or too many waited). Single sends' commands that queue up while earlier ones are being
/// confirmed go out together, as one <see cref="SendMessages"/> that carries each message's trace: under load a
/// confirmed publish per request costs the Api, the broker and the Dispatcher more than the rest of the request; a
/// lone request is published at once. Commands queue here only up to <see cref="MaxQueuedSingles"/>: a broker that
/// holds the connection open but stops confirming (a resource alarm, a half-open connection) must not grow the queue
/// without bound while requests are answered at once, so beyond it a command goes to wait for the drain. On shutdown,
/// once the server has answered its last request and before the bus stops (<see cref="StopAsync"/>), the single sends'
/// commands still queued or being confirmed are published, for at most twice the publish timeout, and the commands
/// still waiting for the broker are handed to the sweep: a rolling deploy during a broker outage does not leave them to
/// their pick-up deadline.
/// </summary>
public sealed class CommandPublisher : IReceiveEndpointObserver, IHostedService, IDisposable
{
    /// <summary>
    /// Ids per command of single sends that queued up together: fewer than <see cref="SendMessages.MaxIds"/>, so a burst's
    /// commands still spread over several Dispatchers. Ingest at 64 in flight gained as much as with 50.
    /// </summary>
    private const int SinglesPerCommand = 20;

    /// <summary>
    /// Publishes of single sends' commands in flight at once: a lone request does not wait behind one being confirmed,
    /// and SinglesPerCommand × this per confirm (about 2 ms) stays well above what the Api can ingest.
    /// </summary>
    private const int SinglePublishesInFlight = 2;

    /// <summary>
    /// Single sends' commands queued for a publish at most (besides the publishes in flight): a healthy broker confirms a
    /// publish in milliseconds, so the queue stays far below this, and beyond it a command waits for the drain.
    /// </summary>
    public const int MaxQueuedSingles = 1_000;

    /// <summary>Waiting commands (of up to <see cref="SendMessages.MaxIds"/> ids each) handed to the sweep in one statement.</summary>
    private const int HandOverCommands = 100;

    /// <summary>About half an hour of a full number's traffic; beyond it the sweeper re-publishes what waits.</summary>
    public const int MaxWaiting = 100_000;

    /// <summary>
    /// How soon a drain whose commands the database would not take either asks the broker, and the database, again.
    /// MassTransit's own reconnection backs off to 30 s, too slow to publish within seconds of the broker's return
    /// (SPEC §8); a publish connects at once, and costs a refused connection while the broker is down. Only a replica
    /// with commands waiting asks, so an idle one stays idle.
    /// </summary>
    private static readonly TimeSpan AskAgainAfter = TimeSpan.FromSeconds(1);

    private static readonly ActivitySource Source = new(ApiMetrics.MeterName);

    private readonly IBusControl _bus;
    private readonly MessageStore _messages;
    private readonly ApiMetrics _metrics;
    private readonly ILogger<CommandPublisher> _logger;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _pickUpDeadline;
    private readonly CancellationToken _stopping;
    private readonly Batcher<QueuedSend, bool> _singles;
    private readonly ConcurrentQueue<(long Id, bool Test)> _waiting = new();
    private readonly SemaphoreSlim _reconnected = new(0, 1);
    private readonly CancellationTokenSource _stopPublishing = new();
    private readonly Lock _stopOnce = new();
    private Task? _stop;
    private int _waitingCount;
    private int _handedSinceConnected;
    private int _draining;
    private volatile Task _drain = Task.CompletedTask;

    // MassTransit drops what is published before the bus has first connected: until then a drain only waits.
    private volatile bool _connectedOnce;
    private readonly TaskCompletionSource _firstConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CommandPublisher(IBusControl bus, MessageStore messages, IOptions<RabbitMqOptions> options,
        IOptions<MessagesOptions> messagesOptions, ApiMetrics metrics, IHostApplicationLifetime lifetime, ILogger<CommandPublisher> logger)
    {
        _bus = bus;
        _messages = messages;
        _metrics = metrics;
        _logger = logger;
        _timeout = options.Value.PublishTimeout;
        _pickUpDeadline = messagesOptions.Value.PickUpDeadline;
        _stopping = lifetime.ApplicationStopping;
        // Observed from here rather than registered with the bus, which would need this publisher to build the bus.
        bus.ConnectReceiveEndpointObserver(this);
        _singles = new Batcher<QueuedSend, bool>(PublishSinglesAsync, SinglesPerCommand, SinglePublishesInFlight);
    }

    /// <summary>
    /// Publishes the command for one message, with the commands of the single sends that queued up behind the publishes
    /// in flight. Returns at once: the publish goes on without the request, and a command the broker does not take
    /// waits for the drain. A test key's message (<paramref name="test"/>) goes in a command of its own kind.
    /// </summary>
    public void Publish(long messageId, bool test)
    {
        if (_singles.Queued >= MaxQueuedSingles)
        {
            Wait([messageId], test);
            return;
        }

        var queued = _singles.RunAsync(new QueuedSend(messageId, Activity.Current?.Id, test));
        if (queued.IsFaulted)
        {
            // Only once the Api has stopped publishing: the message is stored, and the sweeper re-publishes it.
            _ = queued.Exception;
        }
    }

    /// <summary>
    /// Publishes the commands for messages accepted together (all of them a test key's, or none), <see cref="SendMessages.MaxIds"/>
    /// ids to a command.
    /// </summary>
    public Task PublishAsync(IReadOnlyList<long> messageIds, bool test, CancellationToken cancellationToken) =>
        Task.WhenAll(messageIds.Chunk(SendMessages.MaxIds)
            .Select(ids => PublishAsync(new SendMessages(ids, Test: test), ids, test, cancellationToken)));

    /// <summary>The bus's endpoint reconnected: a drain waiting to ask the broker again asks now.</summary>
    public Task Ready(ReceiveEndpointReady ready)
    {
        _connectedOnce = true;
        _firstConnected.TrySetResult();
        if (_reconnected.CurrentCount == 0)
        {
            _reconnected.Release();
        }

        if (Interlocked.Exchange(ref _handedSinceConnected, 0) is > 0 and var handed)
        {
            _logger.LogInformation("The broker is back; {Count} send command(s) it did not take meanwhile were handed to the sweeper",
                handed);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Waits for the bus's first connection and declares what the commands are published to, so the first requests do
    /// not set it up.
    /// </summary>
    public async Task WarmAsync(CancellationToken cancellationToken)
    {
        await _firstConnected.Task.WaitAsync(cancellationToken);
        await _bus.GetPublishSendEndpoint<SendMessage>();
        await _bus.GetPublishSendEndpoint<SendMessages>();
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Publishes the single sends' commands still queued or being confirmed, then hands those waiting for the broker to
    /// the sweep. Registered after the bus, so this runs after the server has stopped and before the bus stops (hosted
    /// services stop in reverse order). A broker that does not confirm must not use up the host's whole stop: after
    /// twice the publish timeout, the publishes in flight give up and the commands still queued are not tried, and all
    /// of them wait with the rest, so that every command the broker has not confirmed is handed over. It runs once: a
    /// second stop of the host (a test's host, stopped both by its owner and by its own entry point) shares the first's,
    /// and may come after this publisher is disposed.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_stopOnce)
        {
            return _stop ??= StopOnceAsync(cancellationToken);
        }
    }

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        _stopPublishing.CancelAfter(2 * _timeout);
        await using (cancellationToken.Register(_stopPublishing.Cancel))
        {
            await _singles.DisposeAsync();
        }

        // The drain stops as the Api stops (before this runs) and puts back what it had taken.
        await _drain;
        var (handed, refused) = await HandToSweepAsync(cancellationToken);
        if (handed > 0)
        {
            _logger.LogWarning("The broker did not take {Count} send command(s) before the Api stopped; the sweeper publishes them once it can reach the broker",
                handed);
        }

        if (refused is not null)
        {
            _logger.LogWarning("{Count} send command(s) were not published before the Api stopped, nor handed to the sweeper ({Error}); the sweeper publishes them at their pick-up deadline",
                Volatile.Read(ref _waitingCount), refused.Message);
        }
    }

    public void Dispose()
    {
        _reconnected.Dispose();
        _stopPublishing.Dispose();
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    /// <summary>
    /// One single send's command alone, or many as one <see cref="SendMessages"/> with their traces (test keys' messages
    /// in one of their own); the publish runs in the first one's trace, linked to the others'. Never throws: what the
    /// broker does not take waits for the drain.
    /// </summary>
    private async Task<IReadOnlyList<bool>> PublishSinglesAsync(IReadOnlyList<QueuedSend> singles)
    {
        var links = singles.Skip(1).Select(s => ActivityContext.TryParse(s.Trace, null, out var trace) ? new ActivityLink(trace) : default)
            .Where(link => link.Context != default);
        using var activity = Source.StartActivity("publish commands", ActivityKind.Internal, singles[0].Trace, links: links);
        activity?.SetTag("govsg.messages", singles.Count);
        await Task.WhenAll(singles.GroupBy(s => s.Test).Select(kind =>
        {
            long[] ids = [.. kind.Select(s => s.MessageId)];
            return ids.Length == 1
                ? PublishAsync(new SendMessage(ids[0], kind.Key), ids, kind.Key, _stopPublishing.Token)
                : PublishAsync(new SendMessages(ids, [.. kind.Select(s => s.Trace)], kind.Key), ids, kind.Key, _stopPublishing.Token);
        }));

        return [.. singles.Select(_ => true)];
    }

    private async Task PublishAsync<TCommand>(TCommand command, long[] ids, bool test, CancellationToken cancellationToken)
        where TCommand : class
    {
        // The bus's own endpoint follows the connection (MessagingExtensions): while it is down, waiting for the
        // broker would hold every request for the full timeout.
        if (cancellationToken.IsCancellationRequested || _bus.CheckHealth().Status != BusHealthStatus.Healthy)
        {
            Wait(ids, test);
            return;
        }

        _connectedOnce = true;

        try
        {
            await _bus.PublishWithinAsync(command, _timeout, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Wait(ids, test);
        }
        catch (MessageReturnedException)
        {
            _logger.LogWarning("No queue takes send commands yet (no Dispatcher has declared it since the broker started " +
                "empty); {Count} command(s) go to the sweeper, which publishes them once one has", ids.Length);
            Wait(ids, test);
        }
        catch (Exception exception)
        {
            // Not only an outage: a broker (or an Api just started) that does not confirm within the timeout ends here too.
            _logger.LogWarning(exception, "Publishing {Command} failed or was not confirmed within {Timeout} s; it is tried once " +
                "more, then handed to the sweeper", command, _timeout.TotalSeconds);
            Wait(ids, test);
        }
    }

    /// <summary>The messages' command waits for the drain, which keeps test keys' messages in commands of their own.</summary>
    private void Wait(IReadOnlyList<long> ids, bool test)
    {
        foreach (var id in ids)
        {
            _metrics.CommandDeferred();
            if (Interlocked.Increment(ref _waitingCount) > MaxWaiting)
            {
                Interlocked.Decrement(ref _waitingCount);
                continue;
            }

            _waiting.Enqueue((id, test));
        }

        StartDrain();
    }

    private void StartDrain()
    {
        if (Interlocked.Exchange(ref _draining, 1) == 0)
        {
            _drain = DrainAsync();
        }
    }

    /// <summary>
    /// Makes every waiting command's message due to the sweep at once (<see cref="MessageStore.HandToSweepAsync"/>);
    /// returns how many it took. What the database refuses (it is away too) waits here again, with the reason.
    /// </summary>
    private async Task<(int Handed, Exception? Refused)> HandToSweepAsync(CancellationToken cancellationToken)
    {
        var waiting = new List<(long[] Ids, bool Test)>();
        while (Take() is { Ids.Length: > 0 } taken)
        {
            waiting.Add(taken);
        }

        if (waiting.Count == 0)
        {
            return (0, null);
        }

        // In statements small enough for the statement timeout, however many waited while the database was away too.
        var handed = 0;
        var chunks = waiting.Chunk(HandOverCommands).ToList();
        for (var i = 0; i < chunks.Count; i++)
        {
            try
            {
                handed += await _messages.HandToSweepAsync([.. chunks[i].SelectMany(w => w.Ids)], _pickUpDeadline, cancellationToken);
            }
            catch (Exception exception)
            {
                // Whatever the database did, these commands are still this replica's to publish.
                foreach (var (ids, test) in chunks.Skip(i).SelectMany(chunk => chunk))
                {
                    Put(ids, test);
                }

                return (handed, exception);
            }
        }

        return (handed, null);
    }

    /// <summary>
    /// Hands every waiting command to the sweep unless the broker takes it at once; while the database refuses the
    /// hand-over, asks both again until none waits or the Api stops.
    /// </summary>
    private async Task DrainAsync()
    {
        var published = 0;
        try
        {
            while (Take() is { Ids.Length: > 0 } taken)
            {
                var (ids, test) = taken;
                if (_connectedOnce && _bus.CheckHealth().Status == BusHealthStatus.Healthy && await PublishedAsync(ids, test))
                {
                    published += ids.Length;
                    continue;
                }

                // Put back even when stopping, so that the stop hands them over.
                Put(ids, test);
                _stopping.ThrowIfCancellationRequested();
                var (handed, refused) = await HandToSweepAsync(_stopping);
                if (Interlocked.Add(ref _handedSinceConnected, handed) == handed && handed > 0)
                {
                    _logger.LogWarning("The broker does not take send commands; they are handed to the sweeper, which publishes them once a Dispatcher reaches the broker");
                }

                if (refused is not null)
                {
                    _logger.LogDebug(refused, "Neither the broker nor the database took waiting commands; asking again");
                    await _reconnected.WaitAsync(AskAgainAfter, _stopping);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: the stop hands what still waits to the sweep.
        }
        finally
        {
            if (published > 0)
            {
                _logger.LogInformation("Published {Count} command(s) that waited for the broker", published);
            }

            Volatile.Write(ref _draining, 0);
        }

        // A command may have come to wait between the last Take and the end of this drain.
        if (Volatile.Read(ref _waitingCount) > 0 && !_stopping.IsCancellationRequested)
        {
            StartDrain();
        }
    }

    /// <summary>Publishes waiting commands; false when the broker did not take them.</summary>
    private async Task<bool> PublishedAsync(long[] ids, bool test)
    {
        try
        {
            await _bus.PublishWithinAsync(new SendMessages(ids, Test: test), _timeout, _stopping);
            return true;
        }
        catch (Exception exception)
        {
            _logger.LogDebug(exception, "The broker did not take waiting commands");
            return false;
        }
    }

    /// <summary>
    /// Up to a command's worth of waiting messages, all of one kind (a test key's or not). One caller takes at a time
    /// (the drain, or the stop after it), so what it peeks at is what it dequeues; were it not, a message could go in a
    /// command of the other kind, and its claim would still tell what it is.
    /// </summary>
    private (long[] Ids, bool Test) Take()
    {
        var ids = new List<long>(SendMessages.MaxIds);
        var test = false;
        while (ids.Count < SendMessages.MaxIds && _waiting.TryPeek(out var next) && (ids.Count == 0 || next.Test == test)
               && _waiting.TryDequeue(out next))
        {
            Interlocked.Decrement(ref _waitingCount);
            ids.Add(next.Id);
            test = next.Test;
        }

        return ([.. ids], test);
    }

    private void Put(long[] ids, bool test)
    {
        foreach (var id in ids)
        {
            Interlocked.Increment(ref _waitingCount);
            _waiting.Enqueue((id, test));
        }
    }

    /// <summary>A single send's message and the trace it was accepted in (a W3C <c>traceparent</c>).</summary>
    private sealed record QueuedSend(long MessageId, string? Trace, bool Test);
}
