// Compiled by GovSg.Tests (GeneratedClientTests) together with the C# client NSwag generates from the live document,
// and run against the test system's Api: each method is one scenario an agency engineer would write, statically typed
// against the generated client, so a document that misdescribes the Api fails here to compile or to run.
using NUnit.Framework;

namespace GovSg.Generated;

public static class ClientScenarios
{
    public static async Task SendWithoutOptionalFields(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);

        var message = await client.SendMessageAsync(null, null, new SendRequestBody { Recipient = recipient, Template_id = 3 });

        Assert.That(message.Status, Is.EqualTo(MessageResponseStatus.UNSENT));
        Assert.That(message.Language_code, Is.EqualTo(MessageResponseLanguage_code.En_GB));
        Assert.That(message.Params, Is.Empty);
        Assert.That(message.Recipient, Is.EqualTo("+65" + recipient));
    }

    public static async Task SendWithEveryFieldIdempotencyKeyAndPreferWait(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);
        var body = new SendRequestBody
        {
            Recipient = recipient,
            Template_id = 2,
            Params = new Dictionary<string, string> { ["venue"] = "ICA Building", ["date"] = "1 May", ["time"] = "10 AM", ["reference"] = "A-1" },
            Language_code = SendRequestBodyLanguage_code.Zh_CN,
        };
        var key = Guid.NewGuid().ToString("N");

        var first = await client.SendMessageAsync(key, "wait=10", body);
        var replay = await client.SendMessageAsync(key, null, body);

        Assert.That(first.Status, Is.Not.EqualTo(MessageResponseStatus.UNSENT), "Prefer: wait held the answer");
        Assert.That(first.Accepted_at, Is.Not.Null);
        Assert.That(first.Accepted_at!.Value, Is.GreaterThanOrEqualTo(first.Created_at));
        Assert.That(first.Language_code, Is.EqualTo(MessageResponseLanguage_code.Zh_CN));
        Assert.That(first.Params["venue"], Is.EqualTo("ICA Building"));
        Assert.That(replay.Id, Is.EqualTo(first.Id), "the same Idempotency-Key replays the message");
    }

    public static async Task GetAndListWithFilters(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        var sent = await client.SendMessageAsync(null, "wait=10", new SendRequestBody { Recipient = recipient, Template_id = 3 });

        var read = await client.GetMessageAsync(sent.Id);
        var recent = await client.ListMessagesAsync(100, 0, null, before.ToString("O"), null, null, null, "-created_at");
        var unsent = await client.ListMessagesAsync(100, 0, Status.UNSENT, before.ToString("O"), null, null, null, "+created_at");

        Assert.That(read.Id, Is.EqualTo(sent.Id));
        Assert.That(read.Created_at, Is.EqualTo(sent.Created_at));
        Assert.That(read.Template_id, Is.EqualTo("3"));
        Assert.That(recent.Data.Select(m => m.Id), Has.Member(sent.Id));
        Assert.That(unsent.Data.Select(m => m.Id), Has.No.Member(sent.Id), "it left UNSENT while the send waited");
        Assert.That(unsent.Data.Select(m => m.Status), Is.All.EqualTo(MessageResponseStatus.UNSENT));
    }

    public static async Task ListTemplates(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);

        var templates = await client.ListTemplatesAsync();

        Assert.That(templates.Data.Select(t => t.Id), Is.SupersetOf(new long[] { 1, 2, 3 }));
        var appointment = templates.Data.Single(t => t.Id == 2);
        Assert.That(appointment.Params, Is.EqualTo(new[] { "venue", "date", "time", "reference" }));
        Assert.That(appointment.Multilingual_support.Select(l => l.Language_code), Has.Member(LanguageResponseLanguage_code.Zh_CN));
    }

    public static async Task CreateKeyWithOnlyALabelThenRevokeIt(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);

        var created = await client.CreateApiKeyAsync(new CreateKeyRequestBody { Label = "booking system" });
        var listed = await client.ListApiKeysAsync();
        await client.RevokeApiKeyAsync(created.Id);
        var after = await client.ListApiKeysAsync();

        Assert.That(created.Key, Does.EndWith(created.Last_five));
        Assert.That(created.Type.ToString(), Is.EqualTo("Live"), "a live key's new key is live");
        Assert.That(created.Valid_until - created.Created_at, Is.EqualTo(TimeSpan.FromDays(180)), "valid_days defaults to 180");
        Assert.That(listed.Data.Select(k => k.Id), Has.Member(created.Id));
        Assert.That(after.Data.Single(k => k.Id == created.Id).Revoked_at, Is.Not.Null);
    }

    public static async Task CreateKeyWithOnlyALabelFromATestKey(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);
        var key = (await client.CreateApiKeyAsync(new CreateKeyRequestBody { Label = "ci", Type = CreateKeyRequestBodyType.Test })).Key;
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);

        var created = await client.CreateApiKeyAsync(new CreateKeyRequestBody { Label = "ci rotation" });

        Assert.That(created.Type.ToString(), Is.EqualTo("Test"), "an unset type is the calling key's, not live");
    }

    public static async Task SetCallbackUrlThenTurnCallbacksOff(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);

        var set = await client.SetCallbackSettingsAsync(new CallbackSettingsRequestBody { Url = "https://hooks.agency.example/govsg" });
        var off = await client.SetCallbackSettingsAsync(new CallbackSettingsRequestBody { Url = null });
        var read = await client.GetCallbackSettingsAsync();

        Assert.That(set.Url, Is.EqualTo("https://hooks.agency.example/govsg"));
        Assert.That(set.Secret, Has.Length.GreaterThanOrEqualTo(32), "the first set shows the secret");
        Assert.That(off.Secret, Is.Null, "later sets do not");
        Assert.That(read.Url, Is.Null);
        Assert.That(read.Secret_last_five, Is.EqualTo(set.Secret[^5..]));
    }

    public static async Task NotFoundSurfacesAsTypedError(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);

        var error = Assert.ThrowsAsync<ApiException<ErrorBody>>(() => client.GetMessageAsync("999999999999"));

        Assert.That(error!.StatusCode, Is.EqualTo(404));
        Assert.That(error.Result.Code, Is.EqualTo(ErrorBodyCode.Not_found));
        Assert.That(error.Result.Message, Is.EqualTo("GovSG message with ID 999999999999 not found."));
        await Task.CompletedTask;
    }

    public static async Task BadRequestSurfacesAsTypedError(HttpClient http, string recipient)
    {
        var client = new GovSgClient(http);

        var error = Assert.ThrowsAsync<ApiException<ErrorBody>>(
            () => client.SendMessageAsync(null, null, new SendRequestBody { Recipient = "test@test.com", Template_id = 3 }));

        Assert.That(error!.StatusCode, Is.EqualTo(400));
        Assert.That(error.Result.Code, Is.EqualTo(ErrorBodyCode.Invalid_recipient));
        Assert.That(error.Result.Message, Is.EqualTo("recipient test@test.com is not a valid phone number"));
        await Task.CompletedTask;
    }
}
