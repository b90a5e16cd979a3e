using System.Net;
using System.Net.Http.Headers;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace GovSg.Tests.Integration.Security;

/// <summary>Nothing leaves the system unasked: the services talk to the provider, PostgreSQL and RabbitMQ only.</summary>
[NonParallelizable]
public sealed class OutboundConnectionTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task ApiAndDispatcher_WhileStartingSendingAndStopping_ConnectToNothingButWhatIsConfigured()
    {
        using var monitor = new OutboundConnectionMonitor(new Npgsql.NpgsqlConnectionStringBuilder(TestSettings.Postgres).Host!,
            TestSettings.RabbitHost);
        // MassTransit's usage report goes out minutes after start, or when the host stops if asked to: asking for that
        // makes this test see the report whenever it is on.
        Action<IServiceCollection> reportAtOnce = services =>
            services.Configure<UsageTelemetryOptions>(options => options.ReportOnShutdown = true);
        var api = Env.StartApi(new Dictionary<string, string?>(), reportAtOnce);
        await TestSystem.WaitForBusAsync(api.Services);
        var dispatcher = await Env.StartDispatcherAsync(services: reportAtOnce);
        var user = await Env.CreateUserAsync(grants: [3]);
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.Key);

        var (response, message) = await MessageJson.PostRawAsync(client,
            $$"""{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}""");
        var accepted = await MessageJson.WaitForStatusAsync(client, message.Str("id"), "ACCEPTED", "SENT", "DELIVERED", "READ");
        await dispatcher.DisposeAsync();
        await api.DisposeAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(accepted.Str("status"), Is.Not.EqualTo("UNSENT"));
        Assert.That(monitor.Targets, Is.Not.Empty, "the monitor saw the database and broker connections");
        Assert.That(monitor.Unexpected, Is.Empty);
    }
}
