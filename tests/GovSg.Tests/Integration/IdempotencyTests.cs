using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace GovSg.Tests.Integration;

public sealed class IdempotencyTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Send_WithTheSameKeyAndBody_ReplaysTheMessageAndSendsNothingNew()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        var published = await Env.PublishedCommandCountAsync();

        var (first, original) = await PostAsync(user, "order-1", $$"""{"recipient":"{{local}}","template_id":3}""");
        var (second, replayed) = await PostAsync(user, "order-1", $$"""{ "template_id" : 3,  "recipient" : "{{local}}" }""");

        Assert.That((first.StatusCode, second.StatusCode), Is.EqualTo((HttpStatusCode.Created, HttpStatusCode.Created)));
        Assert.That(first.Headers.Contains("Idempotency-Replayed"), Is.False);
        Assert.That(second.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(replayed.Str("id"), Is.EqualTo(original.Str("id")));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
        Assert.That(await Env.PublishedCommandCountAsync(), Is.EqualTo(published + 1));
        await MessageJson.WaitForStatusAsync(user.Client, original.Str("id"), "READ");
        Assert.That(await Env.SimulatorSendsAsync(digits), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Send_WithTheSameKeyAndBody_LaterReplaysTheCurrentState()
    {
        var user = await Env.CreateUserAsync();
        const string body = """{"recipient":"81234001","template_id":3}""";
        var (_, original) = await PostAsync(user, "state-1", body);
        await MessageJson.WaitForStatusAsync(user.Client, original.Str("id"), "READ");

        var (_, replayed) = await PostAsync(user, "state-1", body);

        Assert.That(replayed.Str("status"), Is.EqualTo("READ"));
    }

    [TestCase("""{"recipient":"81234002","template_id":3}""", """{"recipient":"81234003","template_id":3}""")]
    [TestCase("""{"recipient":"81234002","template_id":3}""", """{"recipient":"81234002","template_id":"3"}""")]
    public async Task Send_WithTheSameKeyAndADifferentBody_Answers422AndStoresNothingNew(string first, string second)
    {
        var user = await Env.CreateUserAsync();
        await PostAsync(user, "mismatch", first);

        var (response, error) = await PostAsync(user, "mismatch", second);

        Assert.That((int)response.StatusCode, Is.EqualTo(422));
        Assert.That(error.Str("code"), Is.EqualTo("idempotency_mismatch"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    // SPEC §3.2: bodies are "compared after parsing: key order and whitespace don't matter, `1` and `"1"` differ". Once
    // parsed, 3, 3.0 and 3e0 are one number (the old API's JSON.parse gives 3 for each): a retry whose client writes the
    // number another way is the same request, and must replay, not be refused as a different body.
    [TestCase("3.0")]
    [TestCase("3e0")]
    public async Task Send_WithTheSameKeyAndTheSameNumberWrittenAnotherWay_Replays(string templateId)
    {
        var user = await Env.CreateUserAsync();
        var local = TestRecipients.Next().Local;
        var (_, original) = await PostAsync(user, "same-number", $$"""{"recipient":"{{local}}","template_id":3}""");

        var (response, replayed) = await PostAsync(user, "same-number", $$"""{"recipient":"{{local}}","template_id":{{templateId}}}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), replayed.ToString());
        Assert.That(response.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(replayed.Str("id"), Is.EqualTo(original.Str("id")));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    [Test]
    public async Task Send_WithConcurrentDuplicates_CreatesExactlyOneMessageAndEveryoneGetsIt()
    {
        var user = await Env.CreateUserAsync();
        const string body = """{"recipient":"81234004","template_id":3}""";

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => PostAsync(user, "burst-1", body)));

        Assert.That(answers.Select(a => a.Response.StatusCode), Is.All.EqualTo(HttpStatusCode.Created));
        Assert.That(answers.Select(a => a.Body.Str("id")).Distinct().Count(), Is.EqualTo(1));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    // Concurrent sends' keys are looked up together, in one statement: each must get what its own key holds.
    [Test]
    public async Task Send_WithManyKeysAtOnce_AnswersEachByWhatItsOwnKeyHolds()
    {
        var user = await Env.CreateUserAsync();
        var singles = Enumerable.Range(0, 24).Select(i => ($"single-{i}", $$"""{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}"""))
            .ToList();
        var originals = new Dictionary<string, string>();
        foreach (var (key, body) in singles)
        {
            originals[key] = (await PostAsync(user, key, body)).Body.Str("id");
        }

        var batchKeys = Enumerable.Range(0, 8).Select(i => $"batch-{i}").ToList();
        foreach (var key in batchKeys)
        {
            await PostBatchAsync(user, key, $$"""{"messages":[{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}]}""");
        }

        var freshKeys = Enumerable.Range(0, 8).Select(i => $"fresh-{i}").ToList();
        var stored = await Env.CountMessagesAsync(user.Id);

        var replays = singles.Select(s => PostAsync(user, s.Item1, s.Item2)).ToList();
        var mismatches = batchKeys.Select(key => PostAsync(user, key, $$"""{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}""")).ToList();
        var fresh = freshKeys.Select(key => PostAsync(user, key, $$"""{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}""")).ToList();
        await Task.WhenAll(replays.Concat(mismatches).Concat(fresh));

        Assert.Multiple(() =>
        {
            for (var i = 0; i < singles.Count; i++)
            {
                var (response, body) = replays[i].Result;
                Assert.That(response.Headers.Contains("Idempotency-Replayed"), Is.True, singles[i].Item1);
                Assert.That(body.Str("id"), Is.EqualTo(originals[singles[i].Item1]), singles[i].Item1);
            }

            Assert.That(mismatches.Select(m => (m.Result.Response.StatusCode, m.Result.Body.Str("code"))),
                Is.All.EqualTo((HttpStatusCode.UnprocessableEntity, "idempotency_mismatch")));
            Assert.That(fresh.Select(f => (f.Result.Response.StatusCode, f.Result.Response.Headers.Contains("Idempotency-Replayed"))),
                Is.All.EqualTo((HttpStatusCode.Created, false)));
        });
        Assert.That(fresh.Select(f => f.Result.Body.Str("id")).Intersect(originals.Values), Is.Empty);
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(stored + freshKeys.Count));
    }

    // Lookups made at once share statements: each must find what holds its own key, on either route or both, for its
    // own user and key type only.
    [Test]
    public async Task KeyHolders_LookedUpManyAtOnce_AreEachKeysOwn()
    {
        var (user, other) = (await Env.CreateUserAsync(), await Env.CreateUserAsync());
        var messageIds = new Dictionary<string, long>();
        foreach (var key in Enumerable.Range(0, 6).Select(i => $"single-{i}").Append("both"))
        {
            var (_, sent) = await PostAsync(user, key, $$"""{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}""");
            messageIds[key] = long.Parse(sent.Str("id"), System.Globalization.CultureInfo.InvariantCulture);
        }

        // "both": a single send past its window, then a batch under its key.
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE messages SET created_at = created_at - interval '25 hours' WHERE id = @id",
            new { id = messageIds["both"] });
        foreach (var key in new[] { "batch-0", "batch-1", "batch-2", "both" })
        {
            await PostBatchAsync(user, key, $$"""{"messages":[{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}]}""");
        }

        var batchIds = (await connection.QueryAsync<(string Key, long Id)>(
            "SELECT idempotency_key, id FROM message_batches WHERE user_id = @id", new { id = user.Id })).ToDictionary();
        var keys = messageIds.Keys.Union(batchIds.Keys).Append("none").ToList();
        var lookups = Enumerable.Range(0, 300).Select(i => (
            UserId: i % 5 == 4 ? other.Id : user.Id,
            KeyType: i % 7 == 6 ? GovSg.Contracts.KeyType.Test : GovSg.Contracts.KeyType.Live,
            Key: keys[i % keys.Count])).ToList();
        var store = Env.Api.Services.GetRequiredService<GovSg.Api.Messages.MessageStore>();

        var found = await Task.WhenAll(lookups.Select(l => store.FindKeyHoldersAsync(l.UserId, l.KeyType, l.Key, CancellationToken.None)));

        Assert.Multiple(() =>
        {
            foreach (var ((userId, keyType, key), holders) in lookups.Zip(found))
            {
                var own = userId == user.Id && keyType == GovSg.Contracts.KeyType.Live;
                Assert.That(holders.Message?.Id, Is.EqualTo(own && messageIds.TryGetValue(key, out var m) ? m : (long?)null),
                    $"{userId}/{keyType}/{key}");
                Assert.That(holders.Batch?.Id, Is.EqualTo(own && batchIds.TryGetValue(key, out var b) ? b : (long?)null),
                    $"{userId}/{keyType}/{key}");
            }
        });
    }

    [Test]
    public async Task Send_WithTheSameKeyFromAnotherUser_IsIndependent()
    {
        var first = await Env.CreateUserAsync();
        var second = await Env.CreateUserAsync();
        const string body = """{"recipient":"81234005","template_id":3}""";

        var (_, a) = await PostAsync(first, "shared-key", body);
        var (response, b) = await PostAsync(second, "shared-key", body);

        Assert.That(response.Headers.Contains("Idempotency-Replayed"), Is.False);
        Assert.That(b.Str("id"), Is.Not.EqualTo(a.Str("id")));
    }

    [Test]
    public async Task Send_WithAKeyOlderThan24Hours_CreatesANewMessage()
    {
        var user = await Env.CreateUserAsync();
        const string body = """{"recipient":"81234006","template_id":3}""";
        var (_, old) = await PostAsync(user, "daily", body);
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE messages SET created_at = created_at - interval '25 hours' WHERE user_id = @id",
                new { id = user.Id });
        }

        var (response, fresh) = await PostAsync(user, "daily", body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(response.Headers.Contains("Idempotency-Replayed"), Is.False);
        Assert.That(fresh.Str("id"), Is.Not.EqualTo(old.Str("id")));
    }

    // SPEC §3.8: "a key already used on the other route ... → 422 idempotency_mismatch". A single send older than the
    // window must not let a fresh batch's key be taken again by a single send.
    [Test]
    public async Task Send_WithAKeyABatchTookAfterAnExpiredSingleSendHeldIt_Answers422()
    {
        var user = await Env.CreateUserAsync();
        const string single = """{"recipient":"81234011","template_id":3}""";
        await PostAsync(user, "reused", single);
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE messages SET created_at = created_at - interval '25 hours' WHERE user_id = @id",
                new { id = user.Id });
        }

        var (batch, _) = await PostBatchAsync(user, "reused", """{"messages":[{"recipient":"81234012","template_id":3}]}""");
        var (again, error) = await PostAsync(user, "reused", single);

        Assert.That(batch.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the single send's key had expired");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity), "the key now names a batch of the last 24 h");
        Assert.That(error.Str("code"), Is.EqualTo("idempotency_mismatch"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(2));
    }

    [Test]
    public async Task Batch_WithAKeyASingleSendTookAfterAnExpiredBatchHeldIt_Answers422()
    {
        var user = await Env.CreateUserAsync();
        const string batch = """{"messages":[{"recipient":"81234013","template_id":3}]}""";
        await PostBatchAsync(user, "reused-batch", batch);
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                UPDATE messages SET created_at = created_at - interval '25 hours' WHERE user_id = @id;
                UPDATE message_batches SET created_at = created_at - interval '25 hours' WHERE user_id = @id;
                """, new { id = user.Id });
        }

        var (single, _) = await PostAsync(user, "reused-batch", """{"recipient":"81234014","template_id":3}""");
        var (again, error) = await PostBatchAsync(user, "reused-batch", batch);

        Assert.That(single.StatusCode, Is.EqualTo(HttpStatusCode.Created), "the batch's key had expired");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity), "the key now names a single send of the last 24 h");
        Assert.That(error.Str("code"), Is.EqualTo("idempotency_mismatch"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(2));
    }

    // SPEC §3.8: "a key already used on the other route ... → 422 idempotency_mismatch", also when the other route's
    // request is still storing on another Api: each route keeps its keys in a table of its own, so without taking turns
    // both would store, and the recipient would be sent the message twice.
    [Test]
    public async Task Send_WithTheKeyOfABatchStoringOnAnotherApi_Answers422AndStoresNothing()
    {
        var user = await Env.CreateUserAsync();

        var ((batch, stored), (send, error)) = await InsertHold.OnTwoApisWhileTheFirstStoresAsync(Env, user,
            first => PostBatchAsync(first, "routes-racing", """{"messages":[{"recipient":"81234015","template_id":3}]}"""),
            other => PostAsync(other, "routes-racing", """{"recipient":"81234015","template_id":3}"""));

        Assert.That(batch.StatusCode, Is.EqualTo(HttpStatusCode.OK), stored.ToString());
        Assert.That(send.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity), error.ToString());
        Assert.That(error.Str("code"), Is.EqualTo("idempotency_mismatch"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    [Test]
    public async Task Batch_WithTheKeyOfASingleSendStoringOnAnotherApi_Answers422AndStoresNothing()
    {
        var user = await Env.CreateUserAsync();

        var ((send, stored), (batch, error)) = await InsertHold.OnTwoApisWhileTheFirstStoresAsync(Env, user,
            first => PostAsync(first, "routes-racing", """{"recipient":"81234016","template_id":3}"""),
            other => PostBatchAsync(other, "routes-racing", """{"messages":[{"recipient":"81234016","template_id":3}]}"""));

        Assert.That(send.StatusCode, Is.EqualTo(HttpStatusCode.Created), stored.ToString());
        Assert.That(batch.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity), error.ToString());
        Assert.That(error.Str("code"), Is.EqualTo("idempotency_mismatch"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    // A batch's key answers replays for 24 h (SPEC §3.8); past that its stored answer, up to 1,000 entries, only takes
    // room: keyed batches stored later clear such rows away, whoever's they are, oldest first (older than any other
    // test leaves, so this one is among the first).
    [Test]
    public async Task Batch_WithAKey_ClearsAwayBatchesPastTheirWindow()
    {
        var (old, recent) = (await Env.CreateUserAsync(), await Env.CreateUserAsync());
        await PostBatchAsync(old, "long-ago", """{"messages":[{"recipient":"81234015","template_id":3}]}""");
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "UPDATE message_batches SET created_at = created_at - interval '30 days' WHERE user_id = @id", new { id = old.Id });

        var (response, _) = await PostBatchAsync(recent, "today", """{"messages":[{"recipient":"81234016","template_id":3}]}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM message_batches WHERE user_id = @id",
            new { id = old.Id }), Is.Zero, "the batch past its window is gone");
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM message_batches WHERE user_id = @id",
            new { id = recent.Id }), Is.EqualTo(1), "today's batch is kept");
    }

    [TestCase("")]
    [TestCase("has space")]
    [TestCase(null)]
    public async Task Send_WithAnInvalidKey_Answers400(string? key)
    {
        key ??= new string('k', 256);
        var user = await Env.CreateUserAsync();

        var (response, error) = await PostAsync(user, key, """{"recipient":"81234007","template_id":3}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("message"), Is.EqualTo("\"Idempotency-Key\" must be 1 to 255 visible ASCII characters"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    // HttpClient folds two values of a header into one line, so the request is written by hand, with the header twice
    // as a proxy or a careless client would send it.
    [TestCase(MessageJson.SendPath, """{"recipient":"81234008","template_id":3}""")]
    [TestCase("v1/transactional/govsg/batch", """{"messages":[{"recipient":"81234008","template_id":3}]}""")]
    public async Task Send_WithTheKeyHeaderTwice_Answers400AndStoresNothing(string path, string body)
    {
        var user = await Env.CreateUserAsync();
        var address = user.Client.BaseAddress!;
        var content = Encoding.UTF8.GetBytes(body);
        var head = $"POST {new Uri(address, path).PathAndQuery} HTTP/1.1\r\nHost: {address.Authority}\r\n" +
                   $"Authorization: {user.Client.DefaultRequestHeaders.Authorization}\r\n" +
                   "Idempotency-Key: order-a\r\nIdempotency-Key: order-b\r\n" +
                   $"Content-Type: application/json\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n";

        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head).Concat(content).ToArray());
        var answer = await new StreamReader(stream).ReadToEndAsync();

        Assert.That(answer, Does.StartWith("HTTP/1.1 400 "));
        Assert.That(answer, Does.Contain("""{"code":"api_validation","message":"\"Idempotency-Key\" must be sent once"}"""));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    private static async Task<(HttpResponseMessage Response, JsonElement Body)> PostBatchAsync(TestUser user, string key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/transactional/govsg/batch")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return await MessageJson.SendAsync(user.Client, request);
    }

    private static async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(TestUser user, string key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return await MessageJson.SendAsync(user.Client, request);
    }
}
