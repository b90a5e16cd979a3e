using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Dapper;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace GovSg.Tests.Integration;

/// <summary>
/// SPEC §8, recovering in seconds: a host loses the broker or the database (through a relay the test cuts, so the
/// other tests keep theirs) and must neither hold agencies' requests nor wait for the sweeper once it is back.
/// </summary>
public sealed class RecoveryTests
{
    /// <summary>The lease of a claim whose dispatcher died before calling: it lapses at once, for the sweep to hold it.</summary>
    private static readonly TimeSpan LapsesSoon = TimeSpan.FromMilliseconds(300);

    private static TestSystem Env => TestEnvironment.Current;

    // The longest allowed: a request that waited on the broker would take this long.
    private static readonly TimeSpan LongPublishTimeout = TimeSpan.FromSeconds(30);

    // Far beyond the test: only the recovery itself can publish what waited, not the lost-command sweep.
    private static readonly TimeSpan LongPickUpDeadline = TimeSpan.FromMinutes(10);

    // The database refuses the Api's hand-over to the sweep too (the shared Dispatcher would otherwise publish the command
    // before the broker is back): the command waits in the Api's memory, and its drain publishes it.
    [Test]
    public async Task Send_WhileTheBrokerIsDown_AnswersAtOnceAndIsPublishedWithinSecondsOfItsReturn()
    {
        var user = await Env.CreateUserAsync();
        await using var broker = TcpRelay.Start(TestSettings.RabbitHost, TestSettings.RabbitPort);
        var api = await StartApiBehindAsync(broker, services: TestSystem.RefuseHandOver);
        using var client = WithKey(api.CreateClient(), user.Key);
        var bus = api.Services.GetRequiredService<IBusControl>();

        broker.Cut();
        var health = await Poll.UntilAsync(() => Task.FromResult(bus.CheckHealth().Status), s => s != BusHealthStatus.Healthy,
            TimeSpan.FromSeconds(10));
        Assert.That(health, Is.Not.EqualTo(BusHealthStatus.Healthy), "the Api must notice that the broker is gone");

        var (local, _) = TestRecipients.Next();
        var started = Stopwatch.StartNew();
        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(local));
        var answeredIn = started.Elapsed;

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        // Far below the publish timeout, with room for a slow machine: a request that waited would take all 30 s.
        Assert.That(answeredIn, Is.LessThan(LongPublishTimeout / 3), "a known-down broker is not waited for");

        broker.Restore();
        var restored = Stopwatch.StartNew();
        var message = await Poll.UntilAsync(() => MessageJson.GetMessageAsync(user.Client, body.Str("id")),
            m => m.Str("status") != "UNSENT", TimeSpan.FromSeconds(20));
        Assert.That(message.Str("status"), Is.Not.EqualTo("UNSENT"));
        Assert.That(restored.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "published on the broker's return");
    }

    /// <summary>
    /// The commands that waited for the broker go out on its return with test keys' messages in commands of their own,
    /// which say so: those take no slot of the number's pace (SPEC §11.2). The Api's drain publishes them, as the
    /// database refuses their hand-over to the sweep too.
    /// </summary>
    [Test]
    public async Task Send_WhileTheBrokerIsDown_KeepsTestKeysMessagesInCommandsOfTheirOwnOnItsReturn()
    {
        var user = await Env.CreateUserAsync();
        var (testKey, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");
        await using var broker = TcpRelay.Start(TestSettings.RabbitHost, TestSettings.RabbitPort);
        var api = await StartApiBehindAsync(broker, services: TestSystem.RefuseHandOver);
        using var liveClient = WithKey(api.CreateClient(), user.Key);
        using var testClient = WithKey(api.CreateClient(), testKey);
        var bus = api.Services.GetRequiredService<IBusControl>();
        await using var tap = await BrokerTap.StartAsync("GovSg.Contracts:SendMessages");

        broker.Cut();
        await Poll.UntilAsync(() => Task.FromResult(bus.CheckHealth().Status), s => s != BusHealthStatus.Healthy,
            TimeSpan.FromSeconds(10));
        var test = new Dictionary<long, bool>();
        for (var i = 0; i < 6; i++)
        {
            var isTest = i % 2 == 1;
            var (response, body) = await MessageJson.PostAsync(isTest ? testClient : liveClient,
                MessageJson.OfficerCall(TestRecipients.Next().Local));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            test[long.Parse(body.Str("id"), CultureInfo.InvariantCulture)] = isTest;
        }

        broker.Restore();
        var commands = await tap.CommandsNamingAsync(test.Keys, TimeSpan.FromSeconds(20));

        Assert.That(commands.SelectMany(c => c.Ids).Distinct(), Is.EquivalentTo(test.Keys));
        Assert.That(commands.SelectMany(c => c.Ids.Select(id => (id, c.Test))), Is.All.Matches<(long Id, bool Test)>(
            m => test[m.Id] == m.Test), "a command's test flag does not match its messages' keys");
    }

    [Test]
    public async Task Dispatcher_AfterHalfAMinuteWithoutTheBroker_IsBackWithinSecondsOfItsReturn()
    {
        await using var broker = TcpRelay.Start(TestSettings.RabbitHost, TestSettings.RabbitPort);
        await using var dispatcher = await Env.StartDispatcherAsync(new Dictionary<string, string?>
        {
            ["RabbitMq:Host"] = "127.0.0.1",
            ["RabbitMq:Port"] = broker.Port.ToString(CultureInfo.InvariantCulture),
        });
        var bus = dispatcher.Services.GetRequiredService<IBusControl>();

        broker.Cut();
        await Poll.UntilAsync(() => Task.FromResult(bus.CheckHealth().Status), s => s != BusHealthStatus.Healthy,
            TimeSpan.FromSeconds(10));
        // MassTransit's own schedule waits 3 s plus 3 s × 2^n (±20 %), at most 30 s, between tries: its third comes 26
        // to 34 s after the loss and its fourth 48 to 64 s, so a broker back at 36 s would wait 12 s or more for it.
        await Task.Delay(TimeSpan.FromSeconds(36));
        broker.Restore();
        var back = Stopwatch.StartNew();

        await TestSystem.WaitForBusAsync(dispatcher.Services);
        Assert.That(back.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)), "every receive endpoint connected again");
    }

    [Test]
    public async Task Send_WhileTheBrokerStopsAnswering_IsHeldNoLongerThanThePublishTimeoutAndTheApiStopsInSeconds()
    {
        var user = await Env.CreateUserAsync();
        await using var broker = TcpRelay.Start(TestSettings.RabbitHost, TestSettings.RabbitPort);
        var api = await StartApiBehindAsync(broker, publishTimeout: TimeSpan.FromSeconds(1));
        using var client = WithKey(api.CreateClient(), user.Key);

        broker.Stall();
        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
        {
            var started = Stopwatch.StartNew();
            var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
            return (response.StatusCode, started.Elapsed, Id: body.Str("id"));
        }));

        Assert.That(answers.Select(a => a.StatusCode), Is.All.EqualTo(HttpStatusCode.Created));
        // Bounded by the publish timeout (plus the request's own work on a busy machine), not by the hung broker.
        Assert.That(answers.Max(a => a.Elapsed), Is.LessThan(TimeSpan.FromSeconds(10)), "held for a broker that stopped answering");

        var stopping = Stopwatch.StartNew();
        await api.DisposeAsync();
        Assert.That(stopping.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "the Api stops while the broker hangs");

        // The Api handed their commands to the sweep as it stopped: the Dispatcher, whose broker answers, sends them now
        // rather than at their pick-up deadline, ten minutes away.
        await AssertSentWithinSecondsAsync(user, answers.Select(a => a.Id));
    }

    // Concurrent duplicates of a keyed batch make one batch: the loser waits for the winner and replays it (SPEC §3.8).
    // It waits for the winner's commit, not for its publish: while the broker stops answering, that takes up to the
    // publish timeout, and the replay can answer with what was stored.
    [Test]
    public async Task BatchDuplicate_WhileTheBrokerStopsAnswering_IsReplayedOnceStoredNotAfterThePublish()
    {
        var user = await Env.CreateUserAsync();
        await using var broker = TcpRelay.Start(TestSettings.RabbitHost, TestSettings.RabbitPort);
        // Both may hold a batch slot at once, so it is the duplicate's wait that is measured, not a slot's.
        var api = await StartApiBehindAsync(broker, TimeSpan.FromSeconds(8), settings: ("Messages:ConcurrentBatchesPerUser", "2"));
        using var client = WithKey(api.CreateClient(), user.Key);
        var batch = $$"""{"messages":[{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}]}""";

        broker.Stall();
        var clock = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            var (response, body) = await BatchSendTests.PostAsync(client, batch, "stalled-broker");
            return (response, body, Elapsed: clock.Elapsed);
        }));
        broker.Cut();

        Assert.That(answers.Select(a => a.response.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        var replay = answers.Single(a => a.response.Headers.Contains("Idempotency-Replayed"));
        var stored = answers.Single(a => !a.response.Headers.Contains("Idempotency-Replayed"));
        Assert.That(replay.body.GetProperty("data")[0].GetProperty("message").Str("id"),
            Is.EqualTo(stored.body.GetProperty("data")[0].GetProperty("message").Str("id")));
        Assert.That(stored.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(7)), "the winner's publish waited for the broker");
        Assert.That(replay.Elapsed, Is.LessThan(stored.Elapsed - TimeSpan.FromSeconds(4)),
            "the replay waited for the winner's publish");
        await api.DisposeAsync();
    }

    /// <summary>
    /// An Api that cannot reach the broker hands its commands to the sweep at once: a Dispatcher that reaches the broker
    /// publishes them, whether this Api stops meanwhile (a rolling deploy; killed, its memory would be lost) or stays
    /// cut off, and not at their pick-up deadline (ten minutes here).
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task Send_WhileItsApiIsCutOffFromTheBroker_IsPublishedBySweepWithinSecondsNotAtItsDeadline(bool apiStops)
    {
        var user = await Env.CreateUserAsync();
        await using var broker = TcpRelay.Start(TestSettings.RabbitHost, TestSettings.RabbitPort);
        var api = await StartApiBehindAsync(broker);
        using var client = WithKey(api.CreateClient(), user.Key);
        var bus = api.Services.GetRequiredService<IBusControl>();
        broker.Cut();
        await Poll.UntilAsync(() => Task.FromResult(bus.CheckHealth().Status), s => s != BusHealthStatus.Healthy,
            TimeSpan.FromSeconds(10));
        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));

        // The relay stays cut; the shared Dispatcher reaches the broker.
        if (apiStops)
        {
            await api.DisposeAsync();
        }

        await AssertSentWithinSecondsAsync(user, [body.Str("id")]);
        await api.DisposeAsync();
    }

    [Test]
    public async Task SendCommand_WhileTheDatabaseIsAway_IsRetriedUntilItIsBackWithoutRequeueingOrParking()
    {
        // A broker of the test's own (a virtual host) whose send queue drops a command requeued even once, so only a
        // retry that keeps the command on its consumer can survive the outage.
        var virtualHost = await NewVirtualHostAsync();
        await TestInfrastructure.Current.RabbitMqCtlAsync("set_policy", "-p", virtualHost, "delivery-limit", "^send-message$",
            """{"delivery-limit":1}""", "--apply-to", "queues");
        await using var relay = TcpRelay.InFrontOfPostgres(TestSettings.Postgres, out var database);
        database.Timeout = 2;
        await Env.StartDispatcherAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["RabbitMq:VirtualHost"] = virtualHost,
        });
        var (api, user) = await ApiOnAsync(virtualHost);
        using var client = WithKey(api.CreateClient(), user.Key);

        relay.Cut();
        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        // An outage longer than a short in-memory retry (2.6 s), after which a command used to be parked.
        await Task.Delay(TimeSpan.FromSeconds(5));
        relay.Restore();
        var restored = Stopwatch.StartNew();

        var message = await Poll.UntilAsync(() => MessageJson.GetMessageAsync(user.Client, body.Str("id")),
            m => m.Str("status") != "UNSENT", TimeSpan.FromSeconds(20));
        Assert.That(message.Str("status"), Is.EqualTo("ACCEPTED").Or.EqualTo("SENT").Or.EqualTo("DELIVERED").Or.EqualTo("READ"));
        Assert.That(restored.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "sent within seconds of the database's return");
        Assert.That(await ErrorQueueDepthAsync(virtualHost), Is.Zero, "nothing parked in send-message_error");
    }

    // Two ways the database refuses the Dispatcher until a fail-over or an operator puts it right, each like a restart
    // (RUNBOOK): the command is retried until the database takes it again, not discarded after the endpoint's short retry
    // (2.6 s) and left to the sweep a pick-up deadline later (a provider status, to the error queue). It takes no writes
    // (SQLSTATE 25006: a fail-over left the Dispatcher on the old primary, now a standby, or the server was put
    // read-only); or it refuses the login (28P01: a password rotated on the server before the Dispatcher's Secret, or the
    // reverse). The Dispatcher logs in as a role of the test's own; its sessions end as the refusal begins and ends.
    [TestCase("ALTER ROLE {0} SET default_transaction_read_only = on", "ALTER ROLE {0} RESET default_transaction_read_only")]
    [TestCase("ALTER ROLE {0} PASSWORD 'after-rotation'", "ALTER ROLE {0} PASSWORD 'before-rotation'")]
    public async Task SendCommand_WhileTheDatabaseRefusesTheDispatcher_IsSentWithinSecondsOfItsReturn(string refuse, string restore)
    {
        var role = $"govsg_dispatcher_{Guid.NewGuid():N}"[..40];
        await using var admin = await Env.Database.OpenConnectionAsync();
        await admin.ExecuteAsync($"CREATE ROLE {role} LOGIN PASSWORD 'before-rotation' IN ROLE {DatabaseRoles.Dispatcher.Name}");
        var virtualHost = await NewVirtualHostAsync();
        await using var dispatcher = await Env.StartDispatcherAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = new NpgsqlConnectionStringBuilder(TestSettings.Postgres)
            {
                Username = role,
                Password = "before-rotation",
            }.ConnectionString,
            ["RabbitMq:VirtualHost"] = virtualHost,
        });
        var (api, user) = await ApiOnAsync(virtualHost);
        using var client = WithKey(api.CreateClient(), user.Key);
        var endSessions = $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'";
        await admin.ExecuteAsync($"{string.Format(CultureInfo.InvariantCulture, refuse, role)}; {endSessions}");

        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        await Task.Delay(TimeSpan.FromSeconds(5));
        await admin.ExecuteAsync($"{string.Format(CultureInfo.InvariantCulture, restore, role)}; {endSessions}");
        var restored = Stopwatch.StartNew();

        var status = await Poll.UntilAsync(() => StatusAsync(long.Parse(body.Str("id"), CultureInfo.InvariantCulture)),
            s => s != "UNSENT", TimeSpan.FromSeconds(20));
        Assert.That(status, Is.Not.EqualTo("UNSENT"), "the command was dropped while the database refused the Dispatcher");
        Assert.That(restored.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "sent within seconds of the database's return");
        Assert.That(await ErrorQueueDepthAsync(virtualHost), Is.Zero, "nothing parked in send-message_error");
    }

    /// <summary>
    /// A broker with no send queue yet (brand new, or restored without its queues) confirms a command it can route
    /// nowhere, and drops it. Published as mandatory, the command is returned instead: it waits in the Api, and goes out
    /// once a Dispatcher has declared its queue, not a pick-up deadline later.
    /// </summary>
    [Test]
    public async Task Send_BeforeAnyDispatcherDeclaredTheSendQueue_IsSentWithinSecondsOfOneStarting()
    {
        var virtualHost = await NewVirtualHostAsync();
        var (api, user) = await ApiOnAsync(virtualHost);
        using var client = WithKey(api.CreateClient(), user.Key);
        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        // Long enough for the broker to have answered the publish, whichever way.
        await Task.Delay(TimeSpan.FromSeconds(2));

        // Stopped with the test: its sweep shares the database, and would publish later tests' due messages elsewhere.
        await using var dispatcher = await Env.StartDispatcherAsync(
            new Dictionary<string, string?> { ["RabbitMq:VirtualHost"] = virtualHost });
        await AssertSentWithinSecondsAsync(user, [body.Str("id")]);
    }

    [Test]
    public async Task Dispatcher_WhenTheBrokerStopsAnsweringDuringASweep_KeepsSweepingWithoutARestart()
    {
        // The test's dispatcher, behind the relay, is the only one sweeping: nothing else can send what it leaves.
        await Env.Dispatcher.DisposeAsync();
        try
        {
            var user = await Env.CreateUserAsync();
            await using var broker = TcpRelay.Start(TestSettings.RabbitHost, TestSettings.RabbitPort);
            await using var dispatcher = await Env.StartDispatcherAsync(new Dictionary<string, string?>
            {
                ["RabbitMq:Host"] = "127.0.0.1",
                ["RabbitMq:Port"] = broker.Port.ToString(CultureInfo.InvariantCulture),
            });
            var lifetime = dispatcher.Services.GetRequiredService<IHostApplicationLifetime>();
            // A claim whose dispatcher died: the sweep holds it, then reads the send queue's depth and publishes its command.
            var first = await ReconciliationTests.InsertClaimedAsync(user, TestRecipients.Next().Local, LapsesSoon);
            await Poll.UntilAsync(() => StatusAsync(first), s => s != "UNSENT", TimeSpan.FromSeconds(20));

            // The broker stops answering (a hung node, a partition that drops packets) while the bus still looks healthy,
            // and the next sweep has work: it asks the broker for the queue's depth and waits.
            broker.Stall();
            var second = await ReconciliationTests.InsertClaimedAsync(user, TestRecipients.Next().Local, LapsesSoon);
            await Task.Delay(TimeSpan.FromSeconds(25));
            broker.Cut();
            broker.Restore();

            var status = await Poll.UntilAsync(() => StatusAsync(second), s => s != "UNSENT", TimeSpan.FromSeconds(20));
            Assert.That(lifetime.ApplicationStopping.IsCancellationRequested, Is.False,
                "the Dispatcher stopped itself after a sweep's question to a hung broker timed out");
            Assert.That(status, Is.Not.EqualTo("UNSENT"), "the lapsed claim was never held and sent once the broker was back");
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    [Test]
    public async Task Webhook_WhileTheBrokerHasNoStatusQueue_IsNotAnswered200ForStatusesThatReachNoQueue()
    {
        // A broker that has lost its definitions (re-created, restored empty) and to which no Dispatcher has connected
        // since: the status exchange the Api publishes to leads to no queue, and RabbitMQ confirms what it drops.
        var virtualHost = await NewVirtualHostAsync();
        var api = Env.StartApi(new Dictionary<string, string?> { ["RabbitMq:VirtualHost"] = virtualHost });
        await TestSystem.WaitForBusAsync(api.Services);
        var user = await Env.CreateUserAsync();
        var wamid = $"wamid.no-queue-{Guid.NewGuid():N}";
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                      status, created_at, updated_at, accepted_at, expires_at, available_at, sweep_at, attempts,
                                      first_attempt_at, attempted_at, provider_message_id)
                VALUES (@userId, 3, @recipient, '{}', 'en_GB', 'govsg_service_notice_v1', '{}', 'ACCEPTED', now(), now(), now(),
                        now() + interval '1 day', now(), now(), 1, now(), now(), @wamid)
                """, new { userId = user.Id, recipient = "+65" + TestRecipients.Next().Local, wamid });
        }

        using var response = await Webhooks.PostSignedAsync(api.CreateClient(),
            [new WebhookStatus(wamid, "delivered", DateTime.UtcNow)]);
        // Meta is done with a webhook answered 200; the Dispatchers that then connect must still find the status. This one
        // is stopped with the test: its sweep shares the database, and would publish later tests' due messages elsewhere.
        await using var dispatcher = await Env.StartDispatcherAsync(
            new Dictionary<string, string?> { ["RabbitMq:VirtualHost"] = virtualHost });
        var status = await Poll.UntilAsync(async () =>
        {
            await using var connection = await Env.Database.OpenConnectionAsync();
            return await connection.ExecuteScalarAsync<string>(
                "SELECT status::text FROM messages WHERE provider_message_id = @wamid", new { wamid });
        }, s => s == "DELIVERED", TimeSpan.FromSeconds(10));

        Assert.That((response.StatusCode, status), Is.Not.EqualTo((HttpStatusCode.OK, "ACCEPTED")),
            "answered 200 for a status the broker dropped: Meta will not send it again and it is never applied");
    }

    /// <summary>
    /// An Api on the test's own broker, its bus connected, whose messages the lost-command sweep leaves alone for the
    /// test's length; and a user to send with.
    /// </summary>
    private static async Task<(Host<GovSg.Api.Program> Api, TestUser User)> ApiOnAsync(string virtualHost)
    {
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["RabbitMq:VirtualHost"] = virtualHost,
            ["Messages:PickUpDeadline"] = LongPickUpDeadline.ToString("c", CultureInfo.InvariantCulture),
        });
        await TestSystem.WaitForBusAsync(api.Services);
        return (api, await Env.CreateUserAsync());
    }

    /// <summary>A broker of the test's own: a virtual host with nothing declared in it.</summary>
    private static async Task<string> NewVirtualHostAsync()
    {
        var virtualHost = $"recovery-{Guid.NewGuid():N}";
        await TestInfrastructure.Current.RabbitMqCtlAsync("add_vhost", virtualHost);
        await TestInfrastructure.Current.RabbitMqCtlAsync("set_permissions", "-p", virtualHost, TestSettings.RabbitUsername,
            ".*", ".*", ".*");
        return virtualHost;
    }

    private static async Task<string> StatusAsync(long id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<string>("SELECT status::text FROM messages WHERE id = @id", new { id }) ?? "";
    }

    private static async Task<uint> ErrorQueueDepthAsync(string virtualHost)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory
        {
            HostName = TestSettings.RabbitHost,
            Port = TestSettings.RabbitPort,
            UserName = TestSettings.RabbitUsername,
            Password = TestSettings.RabbitPassword,
            VirtualHost = virtualHost,
        };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync("send-message_error")).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    private static async Task AssertSentWithinSecondsAsync(TestUser user, IEnumerable<string> ids)
    {
        var handedOver = Stopwatch.StartNew();
        foreach (var id in ids)
        {
            var message = await Poll.UntilAsync(() => MessageJson.GetMessageAsync(user.Client, id),
                m => m.Str("status") != "UNSENT", TimeSpan.FromSeconds(30));
            Assert.That(message.Str("status"), Is.Not.EqualTo("UNSENT"), $"message {id} is sent");
        }

        Assert.That(handedOver.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "sent within seconds, not at the pick-up deadline");
    }

    private static async Task<Host<GovSg.Api.Program>> StartApiBehindAsync(TcpRelay broker, TimeSpan? publishTimeout = null,
        Action<IServiceCollection>? services = null, params (string Key, string Value)[] settings)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["RabbitMq:Host"] = "127.0.0.1",
            ["RabbitMq:Port"] = broker.Port.ToString(CultureInfo.InvariantCulture),
            ["RabbitMq:PublishTimeout"] = (publishTimeout ?? LongPublishTimeout).ToString("c", CultureInfo.InvariantCulture),
            ["Messages:PickUpDeadline"] = LongPickUpDeadline.ToString("c", CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        var api = Env.StartApi(configuration, services);
        await TestSystem.WaitForBusAsync(api.Services);
        return api;
    }

    private static HttpClient WithKey(HttpClient client, string key)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
