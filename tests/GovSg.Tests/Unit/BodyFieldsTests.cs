using System.Text.Json;
using GovSg.Api.Callbacks;
using GovSg.Api.Http;
using GovSg.Api.Keys;
using GovSg.Api.Messages;

namespace GovSg.Tests.Unit;

/// <summary>Every route's body is read one way (<see cref="BodyFields"/>), with the old API's messages.</summary>
public sealed class BodyFieldsTests
{
    private static readonly Dictionary<string, Func<JsonElement, ApiError?>> Routes = new()
    {
        ["send"] = body => SendRequest.TryParse(body, out _),
        ["batch"] = body => BatchRequest.TryParse(body, out _),
        ["key"] = body => CreateKeyRequest.TryParse(body, out _),
        ["callback"] = body => CallbackSettingsRequest.TryParse(body, allowInsecureLoopback: false, out _),
    };

    private static readonly Dictionary<string, string> ValidFields = new()
    {
        ["send"] = "\"recipient\":\"91234567\",\"template_id\":1",
        ["batch"] = "\"messages\":[{}]",
        ["key"] = "\"label\":\"ci\"",
        ["callback"] = "\"url\":null",
    };

    [TestCase("send")]
    [TestCase("batch")]
    [TestCase("key")]
    [TestCase("callback")]
    public void TryParse_WithSeveralUnknownFields_NamesTheFirstInBodyOrder(string route)
    {
        var error = Routes[route](Parse($$"""{"zeta":1,{{ValidFields[route]}},"alpha":2}"""));

        Assert.That(error?.Body.Message, Is.EqualTo("\"zeta\" is not allowed"));
    }

    [TestCase("send")]
    [TestCase("batch")]
    [TestCase("key")]
    [TestCase("callback")]
    public void TryParse_WhenTheBodyIsNotAnObject_SaysSo(string route) =>
        Assert.That(Routes[route](Parse("[1]"))?.Body.Message, Is.EqualTo("\"value\" must be of type object"));

    [Test]
    public void TryParse_WhenAFieldIsGivenTwice_KeepsItsLastValue()
    {
        // As the old API's JSON.parse did.
        var error = SendRequest.TryParse(Parse("""{"recipient":"91234567","template_id":"x","template_id":7}"""), out var request);

        Assert.That(error, Is.Null);
        Assert.That(request!.TemplateId, Is.EqualTo(7));
    }

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;
}
