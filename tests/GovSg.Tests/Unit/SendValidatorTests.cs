using System.Text.Json;
using GovSg.Api.Messages;
using GovSg.Api.Templates;

namespace GovSg.Tests.Unit;

/// <summary>Checks 2 to 5 of SPEC §3.2 in their order: the first failure answers.</summary>
public sealed class SendValidatorTests
{
    private static readonly Template Call = new(7, "Call", "call_v1", "Hi {{name}}", ["name"], "{}",
        new Dictionary<string, string> { ["ms"] = "Hai {{name}}" });

    [TestCase("""{"recipient":"bad","template_id":7,"language_code":"ta"}""", false, "not_found", "Template with ID 7 not found")]
    [TestCase("""{"recipient":"bad","template_id":7,"language_code":"ta"}""", true, "api_validation", "Language Code ta not available on the template")]
    [TestCase("""{"recipient":"bad","template_id":7,"language_code":"ms"}""", true, "invalid_recipient", "recipient bad is not a valid phone number")]
    [TestCase("""{"recipient":"91234567","template_id":7,"language_code":"ms"}""", true, "api_validation", "No params provided; params needed for template 7")]
    public void Check_WhenSeveralThingsAreWrong_AnswersTheFirstInSpecOrder(string body, bool granted, string code, string message)
    {
        var (send, error) = SendValidator.Check(Parse(body), granted ? Call : null);

        Assert.That(send, Is.Null);
        Assert.That(error?.Body, Is.EqualTo(new GovSg.Api.Http.ErrorBody(code, message)));
    }

    [Test]
    public void Check_WhenEverythingHolds_NormalisesTheRecipient()
    {
        var (send, error) = SendValidator.Check(Parse("""{"recipient":"9123 4567","template_id":7,"params":{"name":"A"}}"""), Call);

        Assert.That(error, Is.Null);
        Assert.That(send?.Recipient, Is.EqualTo("+6591234567"));
        Assert.That(send?.Template, Is.SameAs(Call));
    }

    private static SendRequest Parse(string json)
    {
        Assert.That(SendRequest.TryParse(JsonDocument.Parse(json).RootElement, out var request), Is.Null);
        return request!;
    }
}
