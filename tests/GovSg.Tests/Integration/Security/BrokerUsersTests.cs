using System.Net;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// Least privilege in RabbitMQ (deploy/local/broker-users.sh): whoever holds KEDA's credentials, or the Dispatcher's,
/// cannot publish status events past the webhook signature, and the Api and Dispatcher work as their own users. The
/// harness's shared hosts keep the administrator: the queue names other features add would otherwise have to be in
/// the permissions before their own tests could run; this fixture is what proves the users. The shared Dispatcher also
/// keeps PostgreSQL's superuser: as govsg_dispatcher it made RequestBoundsTests' Prefer: wait cap test hold more than 20
/// requests on this machine, which is not explained yet; the Dispatcher started here runs on its own role.
/// </summary>
[NonParallelizable]
public sealed class BrokerUsersTests
{
    private const ushort AccessRefused = 403;
    private const string StatusEvents = "GovSg.Contracts:ProviderStatusesReceived";

    private static TestSystem Env => TestEnvironment.Current;

    [TestCase(StatusEvents, "")]
    [TestCase("GovSg.Contracts:SendMessage", "")]
    [TestCase("", "provider-status")]
    [TestCase("provider-status", "")]
    public async Task Keda_Publishing_IsRefused(string exchange, string routingKey) =>
        Assert.That(await PublishRefusalAsync(BrokerUsers.Keda, exchange, routingKey), Is.EqualTo(AccessRefused));

    [Test]
    public async Task Keda_Consuming_IsRefused() =>
        Assert.That(await ConsumeRefusalAsync(BrokerUsers.Keda, "send-message"), Is.EqualTo(AccessRefused));

    [Test]
    public async Task Dispatcher_PublishingStatusEvents_IsRefused() =>
        Assert.That(await PublishRefusalAsync(BrokerUsers.Dispatcher, StatusEvents, ""), Is.EqualTo(AccessRefused));

    [Test]
    public async Task Api_ConsumingCommandsOrStatuses_IsRefused()
    {
        Assert.That(await ConsumeRefusalAsync(BrokerUsers.Api, "send-message"), Is.EqualTo(AccessRefused));
        Assert.That(await ConsumeRefusalAsync(BrokerUsers.Api, "provider-status"), Is.EqualTo(AccessRefused));
    }

    [Test]
    public async Task ApiAndDispatcher_AsTheirOwnUsers_ConnectBindAndPublishACommandThatIsSent()
    {
        // Each waits until its bus is connected and its endpoints declared and bound, which takes their permissions.
        // Stopped when the test ends: a Dispatcher left running on its role changes what later tests see (above).
        await using var dispatcher = await Env.StartDispatcherAsync(As(BrokerUsers.Dispatcher, TestSettings.DispatcherPostgres));
        var api = Env.StartApi(As(BrokerUsers.Api, TestSettings.ApiPostgres));
        await TestSystem.WaitForBusAsync(api.Services);
        var user = await Env.CreateUserAsync();
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = user.Client.DefaultRequestHeaders.Authorization;
        var published = await Env.PublishedCommandCountAsync();

        var (local, _) = TestRecipients.Next();
        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(local));
        var message = await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "ACCEPTED", "SENT", "DELIVERED", "READ");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(await Env.PublishedCommandCountAsync(), Is.GreaterThan(published), "the Api's user published the command");
        Assert.That(message.Str("status"), Is.AnyOf("ACCEPTED", "SENT", "DELIVERED", "READ"));
    }

    [Test]
    public async Task Dispatcher_AStatusDeliveryItCannotApply_GoesToTheErrorQueueWithoutAFaultExchange()
    {
        // The Dispatcher's user may not declare MassTransit's Fault exchanges. Publishing a Fault for a delivery that failed
        // for good, the Dispatcher had its channel closed by the refusal; the delivery went back to provider-status
        // instead of provider-status_error and came back every 20 s or so, stopping every status each time (seen on the
        // local run). The harness's Dispatcher is the administrator, which may declare it: the exchange is the witness.
        const string faultExchange = "MassTransit:Fault--GovSg.Contracts:ProviderStatusesReceived--";
        await using var connection = await Factory((TestSettings.RabbitUsername, TestSettings.RabbitPassword)).CreateConnectionAsync();
        var before = await MessageCountAsync(connection, "provider-status_error");

        await using (var channel = await connection.CreateChannelAsync(
                         new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            // A delivery with no statuses list: nothing the Api publishes, so a bug's stand-in.
            await channel.BasicPublishAsync(StatusEvents, "", mandatory: true,
                new BasicProperties { ContentType = "application/json", Persistent = true }, """{"statuses":null}"""u8.ToArray());
        }

        var after = await Poll.UntilAsync(() => MessageCountAsync(connection, "provider-status_error"), n => n > before);
        Assert.That(after, Is.GreaterThan(before), "the delivery is kept in the error queue");
        Assert.That(await ExchangeExistsAsync(connection, faultExchange), Is.False, "no Fault was published");
    }

    /// <summary>How many messages wait in the queue; 0 if it does not exist.</summary>
    private static async Task<uint> MessageCountAsync(IConnection connection, string queue)
    {
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return 0;
        }
    }

    private static async Task<bool> ExchangeExistsAsync(IConnection connection, string exchange)
    {
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.ExchangeDeclarePassiveAsync(exchange);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return false;
        }
    }

    private static Dictionary<string, string?> As((string Name, string Password) user, string postgres) => new()
    {
        ["ConnectionStrings:Postgres"] = postgres,
        ["RabbitMq:Username"] = user.Name,
        ["RabbitMq:Password"] = user.Password,
    };

    private static ConnectionFactory Factory((string Name, string Password) user) => new()
    {
        HostName = TestSettings.RabbitHost,
        Port = TestSettings.RabbitPort,
        VirtualHost = TestSettings.RabbitVirtualHost,
        UserName = user.Name,
        Password = user.Password,
    };

    /// <summary>The reply code the broker closed the channel with when the user published, or null if it took it.</summary>
    private static async Task<ushort?> PublishRefusalAsync((string Name, string Password) user, string exchange, string routingKey)
    {
        await using var connection = await Factory(user).CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        try
        {
            await channel.BasicPublishAsync(exchange, routingKey, "{}"u8.ToArray());
        }
        catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or PublishException)
        {
            // The refusal closes the channel; its reason is the answer.
        }

        return channel.CloseReason?.ReplyCode;
    }

    /// <summary>The reply code the broker refused the user's consumer with, or null if it was allowed.</summary>
    private static async Task<ushort?> ConsumeRefusalAsync((string Name, string Password) user, string queue)
    {
        await using var connection = await Factory(user).CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            var tag = await channel.BasicConsumeAsync(queue, autoAck: false, new AsyncEventingBasicConsumer(channel));
            await channel.BasicCancelAsync(tag);
            return null;
        }
        catch (OperationInterruptedException e)
        {
            return e.ShutdownReason?.ReplyCode;
        }
    }
}
