using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;

namespace GovSg.Tests.Integration;

/// <summary>
/// Test keys (SPEC §11.2) through the real Api, RabbitMQ, PostgreSQL and Dispatcher: test messages follow the simulated
/// lifecycle and the magic recipients without reaching the provider (counted at the simulator), and a key sees only
/// messages of its own type. The harness sets the simulated receipts to 0.3, 0.6 and 0.9 s after acceptance.
/// </summary>
public sealed class TestKeyTests
{
    private const string MessagesPath = "v1/transactional/govsg";
    private const string BatchPath = "v1/transactional/govsg/batch";

    private static readonly TimeSpan SentAfter = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan DeliveredAfter = TimeSpan.FromMilliseconds(600);
    private static readonly TimeSpan ReadAfter = TimeSpan.FromMilliseconds(900);

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Send_WithATestKey_IsAcceptedAtOnceThenSentDeliveredAndReadWithoutReachingTheProvider()
    {
        var (user, test) = await UserWithTestKeyAsync();
        var (local, digits) = TestRecipients.Next();

        var (response, sent) = await MessageJson.PostAsync(test, MessageJson.OfficerCall(local),
            request => request.Headers.Add("Prefer", "wait=5"));
        var read = await MessageJson.WaitForStatusAsync(test, sent.Str("id"), "READ");
        var (_, live) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(local));
        await MessageJson.WaitForStatusAsync(user.Client, live.Str("id"), "READ");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(sent.Str("status"), Is.EqualTo("ACCEPTED"), "accepted at once");
        Assert.That(read.Str("status"), Is.EqualTo("READ"));
        var accepted = Time(read, "accepted_at");
        Assert.That(Time(read, "sent_at") - accepted, Is.EqualTo(SentAfter));
        Assert.That(Time(read, "delivered_at") - accepted, Is.EqualTo(DeliveredAfter));
        Assert.That(Time(read, "read_at") - accepted, Is.EqualTo(ReadAfter));
        Assert.That(await StoredAsync<string>("provider_message_id", sent.Str("id")), Is.EqualTo($"wamid.test.{sent.Str("id")}"));
        Assert.That(await StoredAsync<string>("key_type", sent.Str("id")), Is.EqualTo("test"));
        Assert.That(await Env.SimulatorSendsAsync(digits), Has.Count.EqualTo(1), "only the live message reached the provider");
    }

    [Test]
    public async Task Send_ToTheUndeliverableRecipient_IsAcceptedThenFailsWith131026()
    {
        var (_, test) = await UserWithTestKeyAsync();

        var (_, sent) = await MessageJson.PostAsync(test, MessageJson.OfficerCall("80000001"),
            request => request.Headers.Add("Prefer", "wait=5"));
        var failed = await MessageJson.WaitForStatusAsync(test, sent.Str("id"), "ERROR");

        Assert.That(sent.Str("status"), Is.EqualTo("ACCEPTED"));
        Assert.That(failed.Str("status"), Is.EqualTo("ERROR"));
        Assert.That(failed.Str("error_code"), Is.EqualTo("131026"));
        Assert.That(Time(failed, "errored_at") - Time(failed, "accepted_at"), Is.EqualTo(SentAfter));
        Assert.That(failed.Str("sent_at"), Is.Empty);
        Assert.That(await Env.SimulatorSendsAsync("6580000001"), Is.Empty);
    }

    [Test]
    public async Task Send_ToThePausedTemplateRecipient_FailsWith132015AtOnce()
    {
        var (_, test) = await UserWithTestKeyAsync();

        var (_, sent) = await MessageJson.PostAsync(test, MessageJson.OfficerCall("80000002"),
            request => request.Headers.Add("Prefer", "wait=5"));

        Assert.That(sent.Str("status"), Is.EqualTo("ERROR"));
        Assert.That(sent.Str("error_code"), Is.EqualTo("132015"));
        Assert.That(sent.Str("accepted_at"), Is.Empty);
        Assert.That(await Env.SimulatorSendsAsync("6580000002"), Is.Empty);
    }

    [Test]
    public async Task Send_ToTheFlakyRecipient_FailsTwiceThenTakesTheNormalPath()
    {
        var (_, test) = await UserWithTestKeyAsync();

        var (_, sent) = await MessageJson.PostAsync(test, MessageJson.OfficerCall("80000003"));
        var read = await MessageJson.WaitForStatusAsync(test, sent.Str("id"), "READ");

        Assert.That(read.Str("status"), Is.EqualTo("READ"));
        Assert.That(read.Str("error_code"), Is.Empty);
        Assert.That(await StoredAsync<int>("attempts", sent.Str("id")), Is.EqualTo(3), "two transient failures, retried");
        Assert.That(await Env.SimulatorSendsAsync("6580000003"), Is.Empty);
    }

    [Test]
    public async Task Send_ToTheSilentRecipient_IsAcceptedAndGetsNoReceipt()
    {
        var (_, test) = await UserWithTestKeyAsync();
        var (_, silent) = await MessageJson.PostAsync(test, MessageJson.OfficerCall("80000004"),
            request => request.Headers.Add("Prefer", "wait=5"));
        var (_, normal) = await MessageJson.PostAsync(test, MessageJson.OfficerCall(TestRecipients.Next().Local));

        // Accepted later: once the normal message is read, any receipt for the silent one would have come too.
        await MessageJson.WaitForStatusAsync(test, normal.Str("id"), "READ");
        var after = await MessageJson.GetMessageAsync(test, silent.Str("id"));

        Assert.That(after.Str("status"), Is.EqualTo("ACCEPTED"));
        Assert.That(after.Str("sent_at"), Is.Empty);
        Assert.That(await Env.SimulatorSendsAsync("6580000004"), Is.Empty);
    }

    [Test]
    public async Task Receipts_AfterADispatcherRestart_AreStillDelivered()
    {
        var (_, test) = await UserWithTestKeyAsync();
        // A Dispatcher whose receipts are far off accepts the message, and is replaced before any is due.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?>
        {
            ["TestKeys:SentAfter"] = "00:10:00",
            ["TestKeys:DeliveredAfter"] = "00:10:00",
            ["TestKeys:ReadAfter"] = "00:10:00",
        });
        JsonElement sent;
        try
        {
            (_, sent) = await MessageJson.PostAsync(test, MessageJson.OfficerCall(TestRecipients.Next().Local),
                request => request.Headers.Add("Prefer", "wait=5"));
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }

        var read = await MessageJson.WaitForStatusAsync(test, sent.Str("id"), "READ");

        Assert.That(sent.Str("status"), Is.EqualTo("ACCEPTED"));
        Assert.That(read.Str("status"), Is.EqualTo("READ"));
        Assert.That(Time(read, "sent_at") - Time(read, "accepted_at"), Is.EqualTo(SentAfter), "timed from the acceptance");
    }

    [Test]
    public async Task Send_WithATestKey_TakesNothingFromTheProvidersPace()
    {
        var (user, test) = await UserWithTestKeyAsync();
        var batch = BatchOf(20);
        // One call a second: were test messages paced, the last of 20 would be accepted some 20 s after the first.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:MessagesPerSecond"] = "1" });
        try
        {
            var (_, sent) = await PostBatchAsync(test, batch);
            var accepted = await Task.WhenAll(Ids(sent).Select(id =>
                MessageJson.WaitForStatusAsync(test, id, "ACCEPTED", "SENT", "DELIVERED", "READ")));
            var (_, live) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local),
                request => request.Headers.Add("Prefer", "wait=5"));

            var times = accepted.Select(m => Time(m, "accepted_at")).ToList();
            Assert.That(times.Max() - times.Min(), Is.LessThan(TimeSpan.FromSeconds(5)));
            Assert.That(live.Str("status"), Is.Not.EqualTo("UNSENT"), "the live message's slot was not taken by test messages");
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    // Batches that overlap each reserve slots before their claim finds them all test messages; only the last reservation
    // could give its slots back, so slots the others took were lost to live messages until test commands took none.
    [Test]
    public async Task Send_WithATestKeyInOverlappingBatches_TakesNothingFromTheProvidersPace()
    {
        var (user, test) = await UserWithTestKeyAsync();
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:MessagesPerSecond"] = "1" });
        try
        {
            var batches = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ => Ids((await PostBatchAsync(test, BatchOf(50))).Body)));
            await Task.WhenAll(batches.SelectMany(ids => ids).Select(id =>
                MessageJson.WaitForStatusAsync(test, id, "ACCEPTED", "SENT", "DELIVERED", "READ")));
            var (_, live) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local),
                request => request.Headers.Add("Prefer", "wait=5"));

            Assert.That(batches.Sum(ids => ids.Count), Is.EqualTo(200));
            Assert.That(live.Str("status"), Is.Not.EqualTo("UNSENT"), "the live message's slot was not taken by test messages");
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    // SPEC §11.2: a test message "never reaches WhatsApp and never counts against the provider's rate: the Dispatcher
    // simulates the provider — ACCEPTED at once". An agency's sandbox sends are not held behind a live campaign that the
    // number's pace is still working through.
    [Test]
    public async Task Send_WithATestKeyWhileALiveBatchFillsTheProvidersPace_IsAcceptedAtOnce()
    {
        var (user, test) = await UserWithTestKeyAsync();
        var campaign = BatchOf(10);
        // One call a second: the live batch takes the number's schedule for some 10 s.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:MessagesPerSecond"] = "1" });
        List<string> liveIds = [];
        try
        {
            var (_, live) = await PostBatchAsync(user.Client, campaign);
            liveIds = Ids(live);
            await MessageJson.WaitForStatusAsync(user.Client, liveIds[0], "ACCEPTED", "SENT", "DELIVERED", "READ");

            var (_, sandbox) = await MessageJson.PostAsync(test, MessageJson.OfficerCall(TestRecipients.Next().Local),
                request => request.Headers.Add("Prefer", "wait=5"));
            var liveStillUnsent = await CountUnsentAsync(user.Client, liveIds);

            Assert.That(liveStillUnsent, Is.GreaterThan(0), "the live batch was still being paced");
            Assert.That(sandbox.Str("status"), Is.EqualTo("ACCEPTED"),
                "the test message is accepted at once, not after the live messages' slots");
        }
        finally
        {
            // The live messages' slots pass before the next test, whose sends would otherwise wait for them.
            await Poll.UntilAsync(() => CountUnsentAsync(user.Client, liveIds), n => n == 0, TimeSpan.FromSeconds(30));
            await Env.RestartDispatcherAsync();
        }
    }

    private static async Task<int> CountUnsentAsync(HttpClient client, IEnumerable<string> ids) =>
        (await Task.WhenAll(ids.Select(id => MessageJson.GetMessageAsync(client, id)))).Count(m => m.Str("status") == "UNSENT");

    [Test]
    public async Task GetAndList_SeeOnlyMessagesOfTheCallingKeysType()
    {
        var (user, test) = await UserWithTestKeyAsync();
        var (_, live) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        var (_, sandbox) = await MessageJson.PostAsync(test, MessageJson.OfficerCall(TestRecipients.Next().Local));

        var liveSeesTest = await MessageJson.GetAsync(user.Client, $"{MessagesPath}/{sandbox.Str("id")}");
        var testSeesLive = await MessageJson.GetAsync(test, $"{MessagesPath}/{live.Str("id")}");
        var liveSeesLive = await MessageJson.GetAsync(user.Client, $"{MessagesPath}/{live.Str("id")}");
        var testSeesTest = await MessageJson.GetAsync(test, $"{MessagesPath}/{sandbox.Str("id")}");
        var liveList = (await MessageJson.GetAsync(user.Client, MessagesPath)).Body.GetProperty("data");
        var testList = (await MessageJson.GetAsync(test, MessagesPath)).Body.GetProperty("data");

        Assert.That(liveSeesTest.Response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(liveSeesTest.Body.Str("message"), Is.EqualTo($"GovSG message with ID {sandbox.Str("id")} not found."));
        Assert.That(testSeesLive.Response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(liveSeesLive.Response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(testSeesTest.Response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(liveList.EnumerateArray().Select(m => m.Str("id")), Is.EqualTo(new[] { live.Str("id") }));
        Assert.That(testList.EnumerateArray().Select(m => m.Str("id")), Is.EqualTo(new[] { sandbox.Str("id") }));
    }

    [Test]
    public async Task Send_WithOneIdempotencyKeyFromBothKeyTypes_MakesOneMessageOfEachType()
    {
        var (user, test) = await UserWithTestKeyAsync();
        var body = MessageJson.OfficerCall(TestRecipients.Next().Local);
        var other = MessageJson.OfficerCall(TestRecipients.Next().Local);

        var (liveFirst, live) = await MessageJson.PostAsync(user.Client, body, WithKey("shared-key"));
        var (testFirst, sandbox) = await MessageJson.PostAsync(test, other, WithKey("shared-key"));
        var (liveAgain, liveReplay) = await MessageJson.PostAsync(user.Client, body, WithKey("shared-key"));
        var (testAgain, testReplay) = await MessageJson.PostAsync(test, other, WithKey("shared-key"));

        Assert.That(new[] { liveFirst, testFirst, liveAgain, testAgain }.Select(r => r.StatusCode),
            Is.All.EqualTo(HttpStatusCode.Created), "a different body under the other type's key is no mismatch");
        Assert.That(testFirst.Headers.Contains("Idempotency-Replayed"), Is.False, "the live message is not replayed to a test key");
        Assert.That(sandbox.Str("id"), Is.Not.EqualTo(live.Str("id")));
        Assert.That(liveReplay.Str("id"), Is.EqualTo(live.Str("id")));
        Assert.That(testReplay.Str("id"), Is.EqualTo(sandbox.Str("id")));
        Assert.That(testAgain.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(2));
    }

    [Test]
    public async Task Batch_WithATestKey_StoresTestMessagesUnderItsOwnIdempotencyKeys()
    {
        var (user, test) = await UserWithTestKeyAsync();
        var batch = BatchOf(2);

        var (testFirst, sandbox) = await PostBatchAsync(test, batch, "batch-key");
        var (liveFirst, live) = await PostBatchAsync(user.Client, batch, "batch-key");
        var (testAgain, testReplay) = await PostBatchAsync(test, batch, "batch-key");
        var testIds = Ids(sandbox);
        var liveIds = Ids(live);
        var liveSeesTest = await MessageJson.GetAsync(user.Client, $"{MessagesPath}/{testIds[0]}");
        var testSeesTest = await MessageJson.WaitForStatusAsync(test, testIds[0], "READ");

        Assert.That((testFirst.StatusCode, liveFirst.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)));
        Assert.That(liveFirst.Headers.Contains("Idempotency-Replayed"), Is.False, "the test batch is not replayed to a live key");
        Assert.That(liveIds, Has.Count.EqualTo(2));
        Assert.That(liveIds.Intersect(testIds), Is.Empty, "the live key's batch is a new one");
        Assert.That(testAgain.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(Ids(testReplay), Is.EqualTo(testIds));
        Assert.That(liveSeesTest.Response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(testSeesTest.Str("status"), Is.EqualTo("READ"), "batch test messages follow the simulated lifecycle");
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(4));
    }

    private static async Task<(TestUser User, HttpClient Test)> UserWithTestKeyAsync()
    {
        var user = await Env.CreateUserAsync();
        var (key, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");
        return (user, Env.Client(key));
    }

    private static Action<HttpRequestMessage> WithKey(string key) => request => request.Headers.Add("Idempotency-Key", key);

    private static async Task<(HttpResponseMessage Response, JsonElement Body)> PostBatchAsync(HttpClient client, string body,
        string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, BatchPath)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await MessageJson.SendAsync(client, request);
    }

    /// <summary>A batch body of <paramref name="count"/> sends of template 3, each to a recipient of its own.</summary>
    private static string BatchOf(int count) =>
        $$"""{"messages":[{{string.Join(',', Enumerable.Range(0, count).Select(_ =>
            $$"""{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}"""))}}]}""";

    private static List<string> Ids(JsonElement batch) =>
        [.. batch.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("message").Str("id"))];

    private static DateTime Time(JsonElement message, string property) =>
        DateTime.Parse(message.Str(property), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    private static async Task<T> StoredAsync<T>(string column, string id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<T>($"SELECT {column} FROM messages WHERE id = @id",
            new { id = long.Parse(id, CultureInfo.InvariantCulture) }) ?? throw new InvalidOperationException("no such message");
    }
}
