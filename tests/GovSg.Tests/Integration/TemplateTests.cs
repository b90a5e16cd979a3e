using System.Net;

namespace GovSg.Tests.Integration;

public sealed class TemplateTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task List_ShowsOnlyGrantedTemplatesInIdOrderWithoutTheWhatsAppName()
    {
        var user = await Env.CreateUserAsync(grants: [3, 1]);

        var (response, body) = await MessageJson.GetAsync(user.Client, "v1/govsg/templates");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var templates = body.GetProperty("data").EnumerateArray().ToList();
        Assert.That(templates.Select(t => t.GetProperty("id").GetInt64()), Is.EqualTo(new long[] { 1, 3 }));
        var officerCall = templates[0];
        Assert.That(officerCall.EnumerateObject().Select(p => p.Name),
            Is.EqualTo(new[] { "id", "name", "body", "params", "param_metadata", "multilingual_support" }));
        Assert.That(officerCall.GetProperty("params").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[]
        {
            "recipient_name", "officer_name", "officer_designation", "agency", "topic", "timeslot",
        }));
        Assert.That(officerCall.GetProperty("param_metadata").GetProperty("timeslot").GetProperty("description").GetString(),
            Is.Not.Empty);
        var languages = officerCall.GetProperty("multilingual_support").EnumerateArray()
            .Select(l => (l.Str("language_code"), l.Str("language"), l.Str("body").Contains("{{agency}}", StringComparison.Ordinal)))
            .ToList();
        Assert.That(languages, Is.EqualTo(new[] { ("zh_CN", "Chinese", true), ("ms", "Malay", true), ("ta", "Tamil", true) }));
        Assert.That(body.ToString(), Does.Not.Contain("govsg_officer_call_v1"));
    }

    [Test]
    public async Task List_WithNoGrants_IsEmpty()
    {
        var user = await Env.CreateUserAsync(grants: []);

        var (_, body) = await MessageJson.GetAsync(user.Client, "v1/govsg/templates");

        Assert.That(body.GetProperty("data").GetArrayLength(), Is.Zero);
    }
}
