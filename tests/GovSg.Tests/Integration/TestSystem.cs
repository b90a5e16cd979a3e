using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dapper;
using GovSg.Api.Admin;
using GovSg.Api.Auth;
using GovSg.Api.Database;
using GovSg.Api.Messages;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RabbitMQ.Client;

namespace GovSg.Tests.Integration;

/// <summary>
/// The whole system in one process, on real PostgreSQL and RabbitMQ: the Api and the simulator on Kestrel (the
/// simulator posts webhooks to the Api, the Dispatcher calls the simulator over HTTP), and one Dispatcher.
/// The database and the broker's queues are reset when it starts.
/// </summary>
public sealed class TestSystem : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _extraHosts = [];
    private readonly BrokerTap _tap;

    private TestSystem(NpgsqlDataSource database, Host<GovSg.Api.Program> api, Host<GovSg.WhatsAppSimulator.Program> simulator,
        Host<GovSg.Dispatcher.Program> dispatcher, BrokerTap tap)
    {
        _tap = tap;
        Database = database;
        Api = api;
        Simulator = simulator;
        Dispatcher = dispatcher;
        SimulatorClient = simulator.CreateClient();
    }

    public NpgsqlDataSource Database { get; }

    public Host<GovSg.Api.Program> Api { get; }

    public Host<GovSg.WhatsAppSimulator.Program> Simulator { get; }

    public Host<GovSg.Dispatcher.Program> Dispatcher { get; private set; }

    public HttpClient SimulatorClient { get; }

    public static async Task<TestSystem> StartAsync()
    {
        await ResetDatabaseAsync();
        await ResetQueuesAsync();
        var database = NpgsqlDataSource.Create(TestSettings.Postgres);
        await new MigrationRunner(database, NullLogger<MigrationRunner>.Instance).MigrateAsync(CancellationToken.None);
        var admin = new AdminStore(database);
        await admin.UpsertTemplatesAsync(TemplateDefinition.Load(TestSettings.TemplatesFile), DateTime.UtcNow, CancellationToken.None);

        var api = new Host<GovSg.Api.Program>(ApiSettings(), kestrel: true).Start();
        var simulator = new Host<GovSg.WhatsAppSimulator.Program>(SimulatorSettings(new Uri(api.Address, "v1/callback/govsg")),
            kestrel: true).Start();
        var dispatcher = new Host<GovSg.Dispatcher.Program>(DispatcherSettings(simulator.Address), kestrel: false).Start();
        await WaitForBusAsync(api.Services);
        await WaitForBusAsync(dispatcher.Services);

        // Counts every SendMessage published, by anyone.
        var tap = await BrokerTap.StartAsync("GovSg.Contracts:SendMessage");
        return new TestSystem(database, api, simulator, dispatcher, tap);
    }

    /// <summary>Another Dispatcher on the same queues, stopped with the system (or earlier, by disposing it).</summary>
    public async Task<Host<GovSg.Dispatcher.Program>> StartDispatcherAsync(IReadOnlyDictionary<string, string?>? overrides = null,
        Action<IServiceCollection>? services = null)
    {
        var settings = DispatcherSettings(Simulator.Address);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var dispatcher = new Host<GovSg.Dispatcher.Program>(settings, kestrel: false, services).Start();
        _extraHosts.Add(dispatcher);
        await WaitForBusAsync(dispatcher.Services);
        return dispatcher;
    }

    /// <summary>
    /// Replaces the shared Dispatcher with a fresh one, for tests that leave state in its memory (its provider gate's
    /// pace or pause) that later tests must not inherit, or that need it to restart with some settings changed.
    /// </summary>
    public async Task RestartDispatcherAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        await Dispatcher.DisposeAsync();
        var settings = DispatcherSettings(Simulator.Address);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        Dispatcher = new Host<GovSg.Dispatcher.Program>(settings, kestrel: false).Start();
        await WaitForBusAsync(Dispatcher.Services);
    }

    /// <summary>
    /// An extra Api with some settings changed (e.g. an unreachable broker or database), stopped with the system; on
    /// Kestrel when the test needs a real server's transport, in-process otherwise.
    /// </summary>
    public Host<GovSg.Api.Program> StartApi(IReadOnlyDictionary<string, string?> overrides,
        Action<IServiceCollection>? services = null, bool kestrel = false)
    {
        var settings = ApiSettings();
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var api = new Host<GovSg.Api.Program>(settings, kestrel, services).Start();
        _extraHosts.Add(api);
        return api;
    }

    /// <summary>
    /// An extra Api that reaches neither the broker nor, to hand the commands it cannot publish to the sweep, the database:
    /// the messages it stores have no command until their pick-up deadline brings the sweep to them.
    /// </summary>
    public Host<GovSg.Api.Program> StartApiWithoutCommands(IReadOnlyDictionary<string, string?>? overrides = null) =>
        StartApi(new Dictionary<string, string?>(overrides ?? new Dictionary<string, string?>()) { ["RabbitMq:Port"] = "1" },
            RefuseHandOver);

    /// <summary>
    /// An Api's services whose hand-over of the commands the broker does not take fails, as while the database refuses
    /// it too: those commands wait in the Api's memory for its drain.
    /// </summary>
    public static void RefuseHandOver(IServiceCollection services) =>
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<CommandPublisher>(sp, new MessageStore(NoDatabase)));

    /// <summary>A database nothing answers for (nothing listens on port 1): every statement fails at once.</summary>
    public static readonly NpgsqlDataSource NoDatabase = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Timeout=1");

    /// <summary>Waits until the host's bus is connected and its endpoints are bound, so no publish goes nowhere.</summary>
    public static async Task WaitForBusAsync(IServiceProvider services)
    {
        var bus = services.GetRequiredService<IBusControl>();
        var healthy = await Poll.UntilAsync(() => Task.FromResult(bus.CheckHealth().Status), s => s == BusHealthStatus.Healthy,
            TimeSpan.FromSeconds(30));
        Assert.That(healthy, Is.EqualTo(BusHealthStatus.Healthy), "the bus did not connect to RabbitMQ");
    }

    /// <summary>A new agency user with a key and grants, and an HttpClient that authenticates as it.</summary>
    public async Task<TestUser> CreateUserAsync(long[]? grants = null, int rateLimit = 1_000, int? defaultWait = null,
        int? burst = null)
    {
        var admin = new AdminStore(Database);
        var email = $"user-{Guid.NewGuid():N}@agency.gov.sg";
        var now = DateTime.UtcNow;
        var userId = await admin.UpsertUserAsync(email, "Test Agency", rateLimit, burst, defaultWait, null, now,
            CancellationToken.None);
        var (key, keyId) = await CreateKeyAsync(userId, now.AddDays(1));
        foreach (var templateId in grants ?? [1, 2, 3])
        {
            await admin.GrantAsync(email, templateId, now, CancellationToken.None);
        }

        return new TestUser(userId, email, key, keyId, Client(key));
    }

    public async Task<(string Key, string KeyId)> CreateKeyAsync(long userId, DateTime validUntil, string type = "live")
    {
        var (key, keyId, hash) = ApiKeys.Generate(System.Text.Encoding.UTF8.GetBytes(TestSettings.Pepper));
        await new AdminStore(Database).InsertKeyAsync(userId, keyId, hash, ApiKeys.LastFive(key), "test", type, DateTime.UtcNow,
            validUntil, CancellationToken.None);
        return (key, keyId);
    }

    public HttpClient Client(string? apiKey)
    {
        var client = Api.CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public async Task<long> CountMessagesAsync(long userId)
    {
        await using var connection = await Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE user_id = @userId", new { userId });
    }

    /// <summary>
    /// Waits until another session's statement containing <paramref name="statementPart"/> waits on a lock (a row, a
    /// transaction, an advisory lock); returns how many do, 0 when none did within the poll's deadline.
    /// </summary>
    public Task<long> StatementsWaitingOnALockAsync(string statementPart) =>
        Poll.UntilAsync(async () =>
        {
            await using var connection = await Database.OpenConnectionAsync();
            return await connection.ExecuteScalarAsync<long>("""
                SELECT count(*) FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND strpos(query, @statementPart) > 0 AND pid <> pg_backend_pid()
                """, new { statementPart });
        }, n => n > 0);

    /// <summary>How many send commands have been published since the system started.</summary>
    public Task<uint> PublishedCommandCountAsync() => _tap.CountAsync();

    /// <summary>Makes the simulator answer sends to this recipient as the rule says (see the simulator's control API).</summary>
    public async Task SetRecipientRuleAsync(string recipientDigits, object rule)
    {
        using var response = await SimulatorClient.PutAsJsonAsync($"_sim/recipients/{recipientDigits}", rule);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Changes the simulator's settings (see <c>PUT /_sim/settings</c>) for every later send.</summary>
    public async Task SetSimulatorSettingsAsync(object settings)
    {
        using var response = await SimulatorClient.PutAsJsonAsync("_sim/settings", settings);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The sends the simulator accepted for a recipient (digits only, as WhatsApp sees them).</summary>
    public async Task<IReadOnlyList<SimulatedSend>> SimulatorSendsAsync(string recipientDigits)
    {
        var page = await SimulatorClient.GetFromJsonAsync<SimulatedSendPage>($"_sim/sends?to={recipientDigits}");
        return page!.Data;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var dispatcher in _extraHosts)
        {
            await dispatcher.DisposeAsync();
        }

        await Dispatcher.DisposeAsync();
        await Simulator.DisposeAsync();
        await Api.DisposeAsync();
        SimulatorClient.Dispose();
        await _tap.DisposeAsync();
        await Database.DisposeAsync();
    }

    // The Api connects as its own role, so every test also proves that Database/grants.sql gives it what it uses; the
    // shared Dispatcher connects as the superuser, like the harness itself (see BrokerUsersTests for why), and the
    // Dispatcher's role is proven by BrokerUsersTests and DatabaseGrantsTests.
    private static Dictionary<string, string?> ApiSettings() => new()
    {
        ["ConnectionStrings:Postgres"] = TestSettings.ApiPostgres,
        ["RabbitMq:Host"] = TestSettings.RabbitHost,
        ["RabbitMq:Port"] = TestSettings.RabbitPort.ToString(CultureInfo.InvariantCulture),
        ["RabbitMq:Username"] = TestSettings.RabbitUsername,
        ["RabbitMq:Password"] = TestSettings.RabbitPassword,
        ["RabbitMq:VirtualHost"] = TestSettings.RabbitVirtualHost,
        ["Auth:KeyPepper"] = TestSettings.Pepper,
        // Revocation and expiry are tested right after the change; production keeps a short cache.
        ["Auth:KeyCacheDuration"] = "00:00:00",
        ["Templates:CacheDuration"] = "00:00:00",
        ["Messages:PickUpDeadline"] = "00:00:02",
        // Tests poll messages far faster than an agency may; the read limit itself is tested on an Api of its own.
        ["RateLimits:ReadsPerSecond"] = "1000000",
        ["RateLimits:ReadBurst"] = "1000000",
        ["Webhooks:VerifyToken"] = TestSettings.VerifyToken,
        ["Webhooks:AppSecrets:0"] = TestSettings.AppSecret,
        ["Webhooks:PhoneNumberId"] = TestSettings.PhoneNumberId,
        ["Callbacks:AllowInsecureLoopback"] = "true",
        ["Logging:Console:FormatterName"] = "simple",
    };

    private static Dictionary<string, string?> SimulatorSettings(Uri webhookUrl) => new()
    {
        ["Simulator:AccessToken"] = TestSettings.AccessToken,
        ["Simulator:PhoneNumberId"] = TestSettings.PhoneNumberId,
        ["Simulator:AppSecret"] = TestSettings.AppSecret,
        ["Simulator:WebhookUrl"] = webhookUrl.ToString(),
        ["Simulator:TemplatesFile"] = TestSettings.TemplatesFile,
        ["Simulator:LatencyMs"] = "5",
        ["Simulator:MessagesPerSecond"] = "0",
        ["Simulator:SentDelayMs"] = "20",
        ["Simulator:DeliveredDelayMs"] = "40",
        ["Simulator:ReadDelayMs"] = "60",
    };

    private static Dictionary<string, string?> DispatcherSettings(Uri simulator) => new()
    {
        ["ConnectionStrings:Postgres"] = TestSettings.Postgres,
        ["RabbitMq:Host"] = TestSettings.RabbitHost,
        ["RabbitMq:Port"] = TestSettings.RabbitPort.ToString(CultureInfo.InvariantCulture),
        ["RabbitMq:Username"] = TestSettings.RabbitUsername,
        ["RabbitMq:Password"] = TestSettings.RabbitPassword,
        ["RabbitMq:VirtualHost"] = TestSettings.RabbitVirtualHost,
        ["WhatsApp:BaseUrl"] = simulator.ToString(),
        ["WhatsApp:AllowInsecureBaseUrl"] = "true",
        ["WhatsApp:PhoneNumberId"] = TestSettings.PhoneNumberId,
        ["WhatsApp:AccessToken"] = TestSettings.AccessToken,
        ["WhatsApp:MessagesPerSecond"] = "10000",
        ["WhatsApp:Timeout"] = "00:00:02",
        // Short clocks so retries, exhaustion, lapsed claims and re-publishing happen within a test's patience.
        ["Retry:FirstDelay"] = "00:00:00.100",
        ["Retry:Budget"] = "00:00:03",
        ["Retry:PairRateDelay"] = "00:00:01",
        ["Retry:ClaimLease"] = "00:00:05",
        ["Retry:CredentialPause"] = "00:00:00.500",
        ["Retry:MaxCredentialPause"] = "00:00:01",
        ["Retry:ReconcileHold"] = "00:00:03",
        ["Sweep:Interval"] = "00:00:00.200",
        ["Sweep:PickUpDeadline"] = "00:00:02",
        ["Statuses:UnknownMessageRetention"] = "00:00:03",
        ["Statuses:FirstRetry"] = "00:00:00.200",
        ["Callbacks:AllowInsecureLoopback"] = "true",
        ["Callbacks:Timeout"] = "00:00:01",
        ["Callbacks:FirstRetryDelay"] = "00:00:00.200",
        ["Callbacks:MaxRetryDelay"] = "00:00:01",
        ["TestKeys:SentAfter"] = "00:00:00.300",
        ["TestKeys:DeliveredAfter"] = "00:00:00.600",
        ["TestKeys:ReadAfter"] = "00:00:00.900",
        ["Logging:Console:FormatterName"] = "simple",
    };

    private static async Task ResetDatabaseAsync()
    {
        var target = new NpgsqlConnectionStringBuilder(TestSettings.Postgres);
        var maintenance = new NpgsqlConnectionStringBuilder(TestSettings.Postgres) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync();
        await connection.ExecuteAsync($"DROP DATABASE IF EXISTS \"{target.Database}\" WITH (FORCE)");
        await connection.ExecuteAsync($"CREATE DATABASE \"{target.Database}\"");
    }

    internal static ConnectionFactory BrokerConnection() =>
        new()
        {
            HostName = TestSettings.RabbitHost,
            Port = TestSettings.RabbitPort,
            UserName = TestSettings.RabbitUsername,
            Password = TestSettings.RabbitPassword,
            VirtualHost = TestSettings.RabbitVirtualHost,
        };

    /// <summary>Deletes our queues so no command or status from an earlier run is delivered into this one.</summary>
    private static async Task ResetQueuesAsync()
    {
        await using var connection = await BrokerConnection().CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in new[] { "send-message", "provider-status" })
        {
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
        }
    }
}

public sealed record TestUser(long Id, string Email, string Key, string KeyId, HttpClient Client);

public sealed record SimulatedSend(string Wamid, string To, string Template, string Language, IReadOnlyList<string> Parameters,
    [property: System.Text.Json.Serialization.JsonPropertyName("received_at")] DateTimeOffset ReceivedAt = default,
    [property: System.Text.Json.Serialization.JsonPropertyName("biz_opaque_callback_data")] string? OpaqueData = null);

public sealed record SimulatedSendPage(IReadOnlyList<SimulatedSend> Data);
