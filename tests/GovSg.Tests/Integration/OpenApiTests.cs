using System.Net;

namespace GovSg.Tests.Integration;

public sealed class OpenApiTests
{
    [Test]
    public async Task OpenApi_DocumentsEveryRouteWithItsAnswers()
    {
        using var client = TestEnvironment.Current.Client(null);

        var (response, document) = await MessageJson.GetAsync(client, "openapi/v1.json");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var paths = document.GetProperty("paths");
        Assert.That(paths.EnumerateObject().Select(p => p.Name), Is.SupersetOf(new[]
        {
            "/v1/transactional/govsg/send", "/v1/transactional/govsg/{messageId}", "/v1/transactional/govsg",
            "/v1/govsg/templates", "/v1/callback/govsg",
        }));
        var send = paths.GetProperty("/v1/transactional/govsg/send").GetProperty("post");
        Assert.That(send.GetProperty("operationId").GetString(), Is.EqualTo("SendMessage"));
        Assert.That(send.GetProperty("responses").EnumerateObject().Select(r => r.Name),
            Is.SupersetOf(new[] { "201", "400", "401", "404", "413", "415", "422", "429" }));
        var list = paths.GetProperty("/v1/transactional/govsg").GetProperty("get");
        Assert.That(list.GetProperty("parameters").EnumerateArray()
                .Select(p => (p.GetProperty("name").GetString(), p.GetProperty("in").GetString())),
            Is.EqualTo(new[] { "limit", "offset", "status", "created_at[gt]", "created_at[gte]", "created_at[lt]", "created_at[lte]", "sort_by" }
                .Select(name => ((string?)name, (string?)"query"))));
        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.That(schemas.GetProperty("MessageResponse").GetProperty("properties").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(new[]
            {
                "id", "recipient", "template_id", "params", "language_code", "created_at", "updated_at", "accepted_at",
                "sent_at", "delivered_at", "read_at", "errored_at", "error_code", "error_description", "status",
            }));
    }
}
