using System.Text.Json;
using RabbitMQ.Client;

namespace GovSg.Tests.Integration;

/// <summary>
/// A queue of the test's own bound to a contract's exchange: it holds a copy of every command published there, by anyone.
/// </summary>
public sealed class BrokerTap : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly string _queue;

    private BrokerTap(IConnection connection, IChannel channel, string queue)
    {
        _connection = connection;
        _channel = channel;
        _queue = queue;
    }

    public static async Task<BrokerTap> StartAsync(string exchange)
    {
        var connection = await TestSystem.BrokerConnection().CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
        var queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(queue, exchange, "");
        return new BrokerTap(connection, channel, queue);
    }

    /// <summary>How many commands were published since the tap started (and not taken by <see cref="MessageIdsAsync"/>).</summary>
    public async Task<uint> CountAsync() => (await _channel.QueueDeclarePassiveAsync(_queue)).MessageCount;

    /// <summary>Takes the commands held: the message ids they name, an id once per command that named it.</summary>
    public async Task<IReadOnlyList<long>> MessageIdsAsync() => [.. (await CommandsAsync()).SelectMany(c => c.Ids)];

    /// <summary>Takes the commands held: each one's message ids, and whether it says they are a test key's.</summary>
    public async Task<IReadOnlyList<(IReadOnlyList<long> Ids, bool Test)>> CommandsAsync()
    {
        var commands = new List<(IReadOnlyList<long>, bool)>();
        while (await _channel.BasicGetAsync(_queue, autoAck: true) is { } delivery)
        {
            using var body = JsonDocument.Parse(delivery.Body);
            var command = body.RootElement;
            IReadOnlyList<long> ids = command.TryGetProperty("messageIds", out var many)
                ? [.. many.EnumerateArray().Select(id => id.GetInt64())]
                : [command.GetProperty("messageId").GetInt64()];
            commands.Add((ids, command.TryGetProperty("test", out var test) && test.GetBoolean()));
        }

        return commands;
    }

    /// <summary>
    /// Takes the commands held until those taken name every one of <paramref name="ids"/>, or the time is up; returns
    /// every command taken.
    /// </summary>
    public async Task<IReadOnlyList<(IReadOnlyList<long> Ids, bool Test)>> CommandsNamingAsync(IReadOnlyCollection<long> ids,
        TimeSpan timeout)
    {
        var commands = new List<(IReadOnlyList<long> Ids, bool Test)>();
        await Poll.UntilAsync(async () =>
        {
            commands.AddRange(await CommandsAsync());
            return commands.SelectMany(c => c.Ids).ToHashSet();
        }, named => named.IsSupersetOf(ids), timeout);
        return commands;
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
