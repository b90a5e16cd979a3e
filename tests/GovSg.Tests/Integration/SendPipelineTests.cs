using System.Net;
using Dapper;

namespace GovSg.Tests.Integration;

public sealed class SendPipelineTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Send_WhenValid_StoresUnsentThenReachesAcceptedWithTheProvidersId()
    {
        var user = await Env.CreateUserAsync();

        var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall("+65 9123 0001"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        Assert.That(body.Str("status"), Is.EqualTo("UNSENT"));
        Assert.That(body.Str("recipient"), Is.EqualTo("+6591230001"));
        Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/v1/transactional/govsg/{body.Str("id")}"));

        var message = await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "ACCEPTED", "SENT", "DELIVERED", "READ");
        Assert.That(message.Str("accepted_at"), Is.Not.Empty);

        var sends = await Env.SimulatorSendsAsync("6591230001");
        await using var connection = await Env.Database.OpenConnectionAsync();
        var providerId = await connection.ExecuteScalarAsync<string>(
            "SELECT provider_message_id FROM messages WHERE id = @id", new { id = long.Parse(body.Str("id"), System.Globalization.CultureInfo.InvariantCulture) });
        Assert.That(sends.Select(s => s.Wamid), Is.EqualTo(new[] { providerId }));
        Assert.That(sends[0].Template, Is.EqualTo("govsg_officer_call_v1"));
        Assert.That(sends[0].Parameters, Is.EqualTo(new[]
        {
            "Stanley Nguyen", "John Tan", "Reception Officer", "Open Government Products", "document collection", "1-3PM",
        }));
    }
}
