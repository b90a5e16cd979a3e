using System.Net;
using GovSg.Tests.Integration.Callbacks;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// Text an agency stores that an operator later reads on a terminal (<c>admin callback show</c> prints
/// <c>url=&lt;url&gt;  secret_last_five=…  pending=…  last_failure_reason=…</c> on one line). SECURITY.md: "key labels
/// and callback URLs with control characters refused (they would reach an operator's terminal through admin)", and
/// the label check counts the bidirectional controls among them ("U+202E would show it reversed, or reorder what
/// follows it on the line"). A callback URL must be held to the same rule as a label.
/// </summary>
public sealed class OperatorTerminalTextTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [TestCase("""{"url":"https://hooks.agency.example/\u202Eexe.txt"}""")]
    [TestCase("""{"url":"https://hooks.agency.example/a\u2066b"}""")]
    [TestCase("""{"url":"https://hooks.agency.example/?q=\u200F"}""")]
    [TestCase("""{"url":"https://hooks.agency.example/\u200Bpath"}""")]
    [TestCase("""{"url":"https://hooks.agency.example/?q=\u2029"}""")]
    public async Task CallbackUrl_WithABidirectionalControlOrAnInvisibleCharacter_IsRefusedLikeALabel(string json)
    {
        var user = await Env.CreateUserAsync();

        var (response, body) = await CallbackSettingsTests.PutAsync(user.Client, json);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest),
            $"stored, and later printed raw by `admin callback show`: {body}");
        Assert.That(body.Str("message"), Is.EqualTo("\"url\" must not contain control characters"));
    }

    // Letters and marks that show nothing (Unicode's default-ignorable ones outside the format characters): accepted, one
    // label could pass for another on an operator's terminal. Found by an outside security review.
    [TestCase("ops\u3164")]
    [TestCase("ops\u1160")]
    [TestCase("o\u034Fps")]
    [TestCase("ops\uFE0F")]
    [TestCase("ops\U000E0100")]
    public async Task KeyLabel_WithALetterOrMarkThatShowsNothing_IsRefused(string label)
    {
        var user = await Env.CreateUserAsync();

        using var response = await user.Client.PostAsync("v1/api-keys", new StringContent(
            System.Text.Json.JsonSerializer.Serialize(new { label }), System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(System.Text.Json.JsonDocument.Parse(body).RootElement.Str("message"), Is.EqualTo("\"label\" must not contain control characters"));
    }
}
