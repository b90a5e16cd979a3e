using Dapper;
using GovSg.Dispatcher.Sweeping;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration;

/// <summary>
/// Both services reach a broker that only speaks TLS (a managed broker's amqps port), and verify its certificate: the
/// tests' broker listens with one signed by an authority of the test run's own (<see cref="BrokerTls"/>).
/// </summary>
public sealed class BrokerTlsTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Api_OverTlsTrustingTheBrokersAuthority_PublishesItsCommands()
    {
        var ids = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(5);
        var api = Env.StartApi(Tls(trustTheAuthority: true));
        await TestSystem.WaitForBusAsync(api.Services);

        var publisher = api.Services.GetRequiredService<GovSg.Api.Messages.CommandPublisher>();
        foreach (var id in ids)
        {
            publisher.Publish(id, test: false);
        }

        await using var connection = await Env.Database.OpenConnectionAsync();
        var finished = await Poll.UntilAsync(
            () => connection.ExecuteScalarAsync<int>("SELECT count(*) FROM messages WHERE id = ANY(@ids) AND status <> 'UNSENT'", new { ids }),
            n => n == ids.Length, TimeSpan.FromSeconds(15));
        Assert.That(finished, Is.EqualTo(ids.Length), "published over TLS and sent; the sweep cannot reach these messages");
    }

    [Test]
    public async Task Dispatcher_OverTlsTrustingTheBrokersAuthority_ConsumesAndReadsTheQueue()
    {
        await using var dispatcher = await Env.StartDispatcherAsync(Tls(trustTheAuthority: true));

        var depth = await dispatcher.Services.GetRequiredService<SendQueueProbe>().DepthAsync(CancellationToken.None);

        Assert.That(depth?.Consumers, Is.GreaterThanOrEqualTo(2), "the shared Dispatcher's consumer and this one's, over TLS");
    }

    [Test]
    public async Task Services_OverTlsWithoutTheBrokersAuthority_RefuseTheBroker()
    {
        // The machine trusts no such authority, and nothing else may make it trusted: the connection must fail.
        var api = Env.StartApi(Tls(trustTheAuthority: false));
        await using var probe = Probe(Tls(trustTheAuthority: false));

        var depth = await probe.DepthAsync(CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.That(depth, Is.Null, "the queue probe refused the certificate");
        Assert.That(api.Services.GetRequiredService<IBusControl>().CheckHealth().Status, Is.Not.EqualTo(BusHealthStatus.Healthy));
    }

    [Test]
    public async Task Probe_OverTlsToAHostTheCertificateDoesNotName_RefusesTheBroker()
    {
        // The authority is trusted, but only the chain is checked again with it: the certificate must also name the host.
        var settings = Tls(trustTheAuthority: true);
        // The same broker by another of the engine's names (the engine is local, and publishes on every address).
        settings["RabbitMq:Host"] = TestSettings.RabbitHost == "localhost" ? "127.0.0.1" : "localhost";
        await using var probe = Probe(settings);

        Assert.That(await probe.DepthAsync(CancellationToken.None), Is.Null);
    }

    [Test]
    public void Api_WithABrokerAuthorityButTlsOff_RefusesToStartNamingTheSetting()
    {
        var start = () => Env.StartApi(new Dictionary<string, string?> { ["RabbitMq:TlsCaCertificate"] = TestSettings.RabbitTlsAuthorityFile });

        Assert.That(start, Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("RabbitMq:TlsCaCertificate is set"));
    }

    private static Dictionary<string, string?> Tls(bool trustTheAuthority) => new()
    {
        ["RabbitMq:Port"] = TestSettings.RabbitTlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RabbitMq:UseTls"] = "true",
        ["RabbitMq:TlsCaCertificate"] = trustTheAuthority ? TestSettings.RabbitTlsAuthorityFile : null,
    };

    private static SendQueueProbe Probe(Dictionary<string, string?> settings) => (SendQueueProbe)Activator.CreateInstance(
        typeof(SendQueueProbe), LinkedRabbitMqOptions.For(
        typeof(SendQueueProbe), new Dictionary<string, string?>(settings)
        {
            ["RabbitMq:Host"] = settings.GetValueOrDefault("RabbitMq:Host") ?? TestSettings.RabbitHost,
            ["RabbitMq:Username"] = TestSettings.RabbitUsername,
            ["RabbitMq:Password"] = TestSettings.RabbitPassword,
        }), new SendCommandSizes(), NullLogger<SendQueueProbe>.Instance)!;
}
