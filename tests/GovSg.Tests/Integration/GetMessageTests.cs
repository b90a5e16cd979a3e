using System.Net;

namespace GovSg.Tests.Integration;

public sealed class GetMessageTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Get_WhenTheMessageIsOwn_ReturnsExactlyTheDocumentedFields()
    {
        var user = await Env.CreateUserAsync();
        var (_, created) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall("81234567", "zh_CN"));

        var (response, message) = await MessageJson.GetAsync(user.Client, $"v1/transactional/govsg/{created.Str("id")}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(message.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[]
        {
            "id", "recipient", "template_id", "params", "language_code", "created_at", "updated_at", "accepted_at",
            "sent_at", "delivered_at", "read_at", "errored_at", "error_code", "error_description", "status",
        }));
        Assert.That(message.Str("id"), Is.EqualTo(created.Str("id")));
        Assert.That(message.GetProperty("template_id").GetString(), Is.EqualTo("1"));
        Assert.That(message.Str("recipient"), Is.EqualTo("+6581234567"));
        Assert.That(message.Str("language_code"), Is.EqualTo("zh_CN"));
        Assert.That(message.GetProperty("params").GetProperty("timeslot").GetString(), Is.EqualTo("1-3PM"));
        Assert.That(message.Str("created_at"), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"));
    }

    [Test]
    public async Task Get_WhenTheMessageBelongsToAnotherUser_AnswersNotFound()
    {
        var owner = await Env.CreateUserAsync();
        var other = await Env.CreateUserAsync();
        var (_, created) = await MessageJson.PostAsync(owner.Client, MessageJson.OfficerCall("81234568"));

        var (response, error) = await MessageJson.GetAsync(other.Client, $"v1/transactional/govsg/{created.Str("id")}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(error.Str("message"), Is.EqualTo($"GovSG message with ID {created.Str("id")} not found."));
    }

    [TestCase("987654321")]
    [TestCase("9223372036854775808")] // one past the largest id: a positive integer still (found by an outside probe)
    [TestCase("99999999999999999999")]
    public async Task Get_WhenTheMessageDoesNotExist_AnswersNotFound(string id)
    {
        var user = await Env.CreateUserAsync();

        var (response, error) = await MessageJson.GetAsync(user.Client, $"v1/transactional/govsg/{id}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(error.Str("message"), Is.EqualTo($"GovSG message with ID {id} not found."));
    }

    [TestCase("abc")]
    [TestCase("0")]
    [TestCase("-5")]
    [TestCase("1.5")]
    [TestCase("000")]
    public async Task Get_WhenTheIdIsNotAPositiveInteger_AnswersBadRequest(string id)
    {
        var user = await Env.CreateUserAsync();

        var (response, error) = await MessageJson.GetAsync(user.Client, $"v1/transactional/govsg/{id}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("code"), Is.EqualTo("api_validation"));
    }
}
