using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using GovSg.Api.Extensions;

namespace GovSg.Tests.Integration;

/// <summary>The token buckets over HTTP (SPEC §7): send tokens per message, read tokens, the headers, across replicas.</summary>
public sealed class RateLimitTests
{
    private const string Body = """{"recipient":"91234567","template_id":3}""";

    private static TestSystem Env => TestEnvironment.Current;

    // At 1 token a second a refill can add at most one token per second the test takes; that bounds what is admitted.
    [Test]
    public async Task Send_BeyondTheBurst_Answers429WithRetryAfterAndStoresNothingForIt()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 3);
        var clock = Stopwatch.StartNew();

        var answers = new List<(HttpResponseMessage Response, JsonElement Body)>();
        for (var i = 0; i < 8; i++)
        {
            answers.Add(await MessageJson.PostRawAsync(user.Client, Body));
        }

        var created = answers.Count(a => a.Response.StatusCode == HttpStatusCode.Created);
        var limited = answers.Where(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.That(created + limited.Count, Is.EqualTo(8));
        Assert.That(created, Is.InRange(3, 3 + (int)clock.Elapsed.TotalSeconds));
        Assert.That(limited.Select(a => a.Body.Str("code")), Is.All.EqualTo("rate_limit"));
        Assert.That(limited.Select(a => a.Response.Headers.RetryAfter?.Delta), Is.All.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(limited.Select(a => Header(a.Response, "RateLimit-Remaining")), Is.All.EqualTo("0"));
        Assert.That(answers.Select(a => Header(a.Response, "RateLimit-Limit")), Is.All.EqualTo("3"));
        Assert.That(Header(answers[0].Response, "RateLimit-Remaining"), Is.EqualTo("2"));
        Assert.That(Header(answers[0].Response, "RateLimit-Reset"), Is.EqualTo("1"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(created));
    }

    [Test]
    public async Task Send_ByDefault_HasABurstOf60TimesTheRate()
    {
        var user = await Env.CreateUserAsync(rateLimit: 2);

        var (response, _) = await MessageJson.PostRawAsync(user.Client, Body);

        Assert.That(Header(response, "RateLimit-Limit"), Is.EqualTo("120"));
        Assert.That(Header(response, "RateLimit-Remaining"), Is.EqualTo("119"));
    }

    [Test]
    public async Task Send_OnTwoApisOverOneDatabase_SharesOneBucket()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 4);
        var other = Env.StartApi(new Dictionary<string, string?>()).CreateClient();
        other.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.Key);
        var clock = Stopwatch.StartNew();

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add((await MessageJson.PostRawAsync(i % 2 == 0 ? user.Client : other, Body)).Response.StatusCode);
        }

        Assert.That(answers.Count(s => s == HttpStatusCode.Created), Is.InRange(4, 4 + (int)clock.Elapsed.TotalSeconds));
        Assert.That(answers.Where((_, i) => i % 2 == 1), Has.Some.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(answers.Where((_, i) => i % 2 == 0), Has.Some.EqualTo(HttpStatusCode.TooManyRequests));
    }

    [TestCase("application/json", "malformed")]
    [TestCase("text/plain", "unsupported_media_type")]
    public async Task Send_WhenOverTheLimit_RefusesBeforeLookingAtTheBody(string contentType, string bodyError)
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 1);
        var clock = Stopwatch.StartNew();

        var answers = new List<(HttpResponseMessage Response, JsonElement Body)>();
        for (var i = 0; i < 6; i++)
        {
            answers.Add(await MessageJson.PostRawAsync(user.Client, "{not json", contentType));
        }

        // One token up front and one a second: however slow the machine, most of the six are refused unread.
        var tokens = 1 + (int)clock.Elapsed.TotalSeconds;
        var codes = answers.Select(a => a.Body.Str("code")).ToList();
        Assert.That(codes.Count(c => c == "rate_limit"), Is.EqualTo(6 - codes.Count(c => c == bodyError)));
        Assert.That(codes.Count(c => c == bodyError), Is.InRange(1, tokens));
        Assert.That(answers.Select(a => a.Response.Headers.Contains("RateLimit-Remaining")), Is.All.True);
    }

    // The token of a valid send is taken by the statement that stores it; a request that stores nothing takes its
    // token afterwards, so it costs one all the same.
    [Test]
    public async Task Send_WhenTheBodyIsInvalid_StillTakesItsToken()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 30);

        var (invalid, _) = await MessageJson.PostRawAsync(user.Client, """{"template_id":3}""");
        var (valid, _) = await MessageJson.PostRawAsync(user.Client, Body);

        Assert.That(invalid.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(Header(invalid, "RateLimit-Remaining"), Is.EqualTo("29"));
        Assert.That(valid.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(Header(valid, "RateLimit-Remaining"), Is.EqualTo("28"));
    }

    // Concurrent sends are stored in shared statements that take their tokens too: never more than the bucket holds.
    [Test]
    public async Task Send_ConcurrentlyBeyondTheBurst_StoresOnlyWhatTheBucketGrants()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 5);
        var clock = Stopwatch.StartNew();

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => MessageJson.PostRawAsync(user.Client, Body)));

        var created = answers.Count(a => a.Response.StatusCode == HttpStatusCode.Created);
        Assert.That(created, Is.InRange(5, 5 + (int)clock.Elapsed.TotalSeconds));
        Assert.That(answers.Count(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(40 - created));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(created));
    }

    [Test]
    public async Task Send_WhenReplayingAnIdempotentRequestOverTheLimit_IsNotRefusedAndTakesNoSendToken()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 1);
        var (first, original) = await PostWithKeyAsync(user, "replay-over-limit");
        for (var i = 0; i < 3; i++)
        {
            await MessageJson.PostRawAsync(user.Client, Body);
        }

        var (replay, replayed) = await PostWithKeyAsync(user, "replay-over-limit");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(replay.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(replay.Headers.Contains("RateLimit-Limit"), Is.False, "a replay is a read");
        Assert.That(replayed.Str("id"), Is.EqualTo(original.Str("id")));
    }

    // SPEC §3.2: "Concurrent duplicates yield exactly one message: the losers wait for the winner and replay it. Replays
    // are not rate-limited." With one token, the duplicates must not be refused for the winner's token.
    [Test]
    public async Task Send_WithConcurrentDuplicatesAndOneToken_EveryDuplicateReplaysTheOneMessage()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 1);

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => PostWithKeyAsync(user, "one-token")));

        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
        Assert.That(answers.Select(a => a.Item1.StatusCode), Is.All.EqualTo(HttpStatusCode.Created),
            "a duplicate waits for the winner and replays it");
    }

    // SPEC §3.2: "Concurrent duplicates yield exactly one message: the losers wait for the winner and replay it. Replays are
    // not rate-limited"; §7: the bucket is shared by all Api replicas, so a client's retry may reach another replica while
    // its first request is still under way there.
    [Test]
    public async Task Send_WithConcurrentDuplicatesOnTwoApisAndOneToken_TheDuplicateReplaysTheOneMessage()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 1);

        var ((firstResponse, firstMessage), (duplicateResponse, duplicateBody)) =
            await InsertHold.OnTwoApisWhileTheFirstStoresAsync(Env, user, sender => PostWithKeyAsync(sender, "retried-elsewhere"));

        Assert.That(firstResponse.StatusCode, Is.EqualTo(HttpStatusCode.Created), firstMessage.ToString());
        Assert.That(duplicateResponse.StatusCode, Is.EqualTo(HttpStatusCode.Created),
            $"the duplicate waits for the first and replays it, not refused for the first's token: {duplicateBody}");
        Assert.That(duplicateBody.Str("id"), Is.EqualTo(firstMessage.Str("id")));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    // The same for batches (SPEC §3.8: "concurrent duplicates make one batch (the losers wait and replay)").
    [Test]
    public async Task Batch_WithConcurrentDuplicatesOnTwoApisUsingTheWholeBurst_TheDuplicateReplaysTheOneBatch()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 5);

        var ((firstResponse, firstBatch), (duplicateResponse, duplicateBody)) =
            await InsertHold.OnTwoApisWhileTheFirstStoresAsync(Env, user, sender => PostBatchAsync(sender, 5, "batch-retried-elsewhere"));

        Assert.That(firstResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK), firstBatch.ToString());
        Assert.That(duplicateResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK),
            $"the duplicate waits for the first and replays it, not refused for the first's tokens: {duplicateBody}");
        Assert.That(duplicateResponse.Headers.GetValues("Idempotency-Replayed"), Is.EqualTo(new[] { "true" }));
        Assert.That(duplicateBody.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("message").Str("id")),
            Is.EqualTo(firstBatch.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("message").Str("id"))));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(5));
    }

    // SPEC §7: "Idempotent replays take no send token", when the duplicate reaches another Api while the first is storing
    // (it takes its token before the first commits, so it learns that it replays only after).
    [Test]
    public async Task Send_WithConcurrentDuplicatesOnTwoApis_TheReplayKeepsNoSendToken()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 20);

        var (_, (duplicateResponse, _)) =
            await InsertHold.OnTwoApisWhileTheFirstStoresAsync(Env, user, sender => PostWithKeyAsync(sender, "token-given-back"));

        Assert.That(duplicateResponse.Headers.GetValues("Idempotency-Replayed"), Is.EqualTo(new[] { "true" }));
        Assert.That(await SendTokensTakenAsync(user), Is.EqualTo(1).Within(0.5), "only the first send's token");
    }

    [Test]
    public async Task Batch_WithConcurrentDuplicatesOnTwoApis_TheReplayKeepsNoSendToken()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 20);

        var (_, (duplicateResponse, _)) =
            await InsertHold.OnTwoApisWhileTheFirstStoresAsync(Env, user, sender => PostBatchAsync(sender, 5, "batch-tokens-given-back"));

        Assert.That(duplicateResponse.Headers.GetValues("Idempotency-Replayed"), Is.EqualTo(new[] { "true" }));
        Assert.That(await SendTokensTakenAsync(user), Is.EqualTo(5).Within(0.5), "only the first batch's five tokens");
    }

    // SPEC §3.8: "concurrent duplicates make one batch (the losers wait and replay)"; §7: replays take no send token.
    [Test]
    public async Task Batch_WithConcurrentDuplicatesUsingTheWholeBurst_EveryDuplicateReplaysTheOneBatch()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 50);

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostBatchAsync(user, 50, "whole-burst")));

        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(50));
        Assert.That(answers.Select(a => a.Response.StatusCode), Is.All.EqualTo(HttpStatusCode.OK),
            "a duplicate waits for the winner and replays it");
    }

    // SPEC §7: "every send answer carries RateLimit-Limit (the burst), RateLimit-Remaining ... and RateLimit-Reset"; the
    // OpenAPI document lists them on every answer of the batch route. A batch refused for the burst takes no token.
    [Test]
    public async Task Batch_OverTheBurst_CarriesTheRateLimitHeaders()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 4);

        var (response, error) = await PostBatchAsync(user, 5, key: null);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("message"), Is.EqualTo("Batch of 5 messages exceeds your burst allowance of 4"));
        Assert.That(response.Headers.Contains("RateLimit-Limit"), Is.True, "RateLimit-Limit (the burst) on a send answer");
        Assert.That(Header(response, "RateLimit-Limit"), Is.EqualTo("4"));
        Assert.That(Header(response, "RateLimit-Remaining"), Is.EqualTo("4"));
    }

    // SPEC §7: "every send answer carries RateLimit-Limit (the burst), RateLimit-Remaining ... and RateLimit-Reset"; a
    // batch refused by its request-level checks is a send answer as much as one refused for the burst (and a single send's 400).
    [TestCase("""{}""")]
    [TestCase("""{"messages":[]}""")]
    [TestCase("""{"messages":[{"recipient":"91234567","template_id":3}],"priority":1}""")]
    public async Task Batch_RefusedByItsRequestLevelChecks_CarriesTheRateLimitHeaders(string body)
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 4);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/transactional/govsg/batch") { Content = Json(body) };

        var (response, error) = await MessageJson.SendAsync(user.Client, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("code"), Is.EqualTo("api_validation"));
        Assert.That(response.Headers.Contains("RateLimit-Limit"), Is.True, "RateLimit-Limit (the burst) on a send answer");
        Assert.That(Header(response, "RateLimit-Limit"), Is.EqualTo("4"));
        Assert.That(Header(response, "RateLimit-Remaining"), Is.EqualTo("4"));
    }

    [Test]
    public async Task Send_WhenTheIdempotencyKeyIsOlderThanItsWindow_IsLimitedLikeANewSend()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 1);
        var (_, original) = await PostWithKeyAsync(user, "stale-key");
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE messages SET created_at = created_at - interval '25 hours' WHERE id = @id",
                new { id = long.Parse(original.Str("id"), System.Globalization.CultureInfo.InvariantCulture) });
        }

        // Empty the bucket, so the next send is refused unless it is a replay.
        var refused = false;
        for (var i = 0; i < 20 && !refused; i++)
        {
            refused = (await MessageJson.PostRawAsync(user.Client, Body)).Response.StatusCode == HttpStatusCode.TooManyRequests;
        }

        var (again, answer) = await PostWithKeyAsync(user, "stale-key");

        // Refused, or (when a token came back in between, one a second) stored anew: never the old message's replay.
        Assert.That(again.Headers.Contains("Idempotency-Replayed"), Is.False, "a key past its 24 h window is not a replay");
        Assert.That(again.StatusCode == HttpStatusCode.TooManyRequests
                    || (again.StatusCode == HttpStatusCode.Created && answer.Str("id") != original.Str("id")),
            Is.True, $"{(int)again.StatusCode} {answer}");
    }

    [Test]
    public async Task Reads_BeyondTheReadBurst_Answer429WithRetryAfterAndNoRateLimitHeaders()
    {
        var client = ClientWithReadLimit(await Env.CreateUserAsync(), burst: 3);
        var clock = Stopwatch.StartNew();

        var answers = new List<(HttpResponseMessage Response, JsonElement Body)>();
        foreach (var path in new[] { "v1/govsg/templates", "v1/transactional/govsg", "v1/transactional/govsg/1" })
        {
            for (var i = 0; i < 3; i++)
            {
                answers.Add(await MessageJson.GetAsync(client, path));
            }
        }

        var limited = answers.Where(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.That(answers.Take(3).Select(a => a.Response.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That(limited, Has.Count.InRange(6 - (int)clock.Elapsed.TotalSeconds, 6));
        Assert.That(limited.Select(a => a.Body.Str("code")), Is.All.EqualTo("rate_limit"));
        Assert.That(limited.Select(a => a.Response.Headers.RetryAfter?.Delta), Is.All.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(answers.Select(a => a.Response.Headers.Contains("RateLimit-Limit")), Is.All.False);
        Assert.That((await MessageJson.PostRawAsync(client, Body)).Response.StatusCode, Is.EqualTo(HttpStatusCode.Created),
            "reads and sends have buckets of their own");
    }

    [TestCase(0, TestName = "Reads_OfOneUserBeyondItsSlotsAndTheirQueue_Answer503AndLeaveOtherUsersAlone")]
    [TestCase(100, TestName = "Reads_OfOneUserBeyondItsSlots_WaitTheirTurn")]
    public async Task Reads_OfOneUserBeyondItsSlots(int queued)
    {
        // Each read holds a database connection while it runs, and a deep list or a large count runs for seconds: one
        // agency's burst of them must not take every connection another agency's requests need. Found by an outside
        // security review: the read limit bounded how many a user started a second, not how many ran at once.
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["RateLimits:ConcurrentReadsPerUser"] = "1",
            ["RateLimits:QueuedReadsPerUser"] = queued.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // 40 reads one at a time take a second or two, longer on a busy machine: none may run out of its wait.
            ["RateLimits:ReadSlotWait"] = "00:01:00",
        });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Env.CreateUserAsync()).Key);
        using var otherClient = api.CreateClient();
        otherClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Env.CreateUserAsync()).Key);

        using var counted = new Counted(ApiMetrics.MeterName, "govsg.requests.slot_refused", new("kind", "read"));
        var reads = Enumerable.Range(0, 40).Select(_ => MessageJson.GetAsync(client, "v1/transactional/govsg?limit=1000")).ToList();
        var otherRead = MessageJson.GetAsync(otherClient, "v1/transactional/govsg?limit=1000");
        var answers = await Task.WhenAll(reads);

        Assert.That((await otherRead).Response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another user's read has slots of its own");
        var refused = answers.Where(a => a.Response.StatusCode != HttpStatusCode.OK).ToList();
        if (queued > 0)
        {
            Assert.That(refused, Is.Empty, "reads beyond the slots wait for one");
            Assert.That(counted.Total, Is.Zero);
            return;
        }

        Assert.That(refused, Is.Not.Empty, "40 reads at once, one slot, no queue");
        Assert.That(answers, Has.Some.Matches<(HttpResponseMessage Response, JsonElement)>(a => a.Response.StatusCode == HttpStatusCode.OK));
        Assert.That(refused.Select(a => (a.Response.StatusCode, a.Body.Str("code"))),
            Is.All.EqualTo((HttpStatusCode.ServiceUnavailable, "service_unavailable")));
        Assert.That(counted.Total, Is.EqualTo(refused.Count), "each refusal is counted, so an operator sees them");
    }

    [Test]
    public async Task Writes_OfKeysAndCallbackSettings_TakeNoReadSlot()
    {
        // A write may still be receiving its body when it starts: in a read slot, a body sent slowly would hold one of the
        // Api's slots from every agency's reads. Found by an outside review of the slots.
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["RateLimits:ConcurrentReadsPerUser"] = "1",
            ["RateLimits:QueuedReadsPerUser"] = "0",
            ["RateLimits:ConcurrentReads"] = "1",
            ["RateLimits:QueuedReads"] = "0",
        });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Env.CreateUserAsync()).Key);

        var writes = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var response = await client.PutAsync("v1/callback-settings", Json("""{"url":null}"""));
            return response.StatusCode;
        }));

        Assert.That(writes, Is.All.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Reads_WithATestKey_TakeFromABucketOfTheirOwn()
    {
        // Live and test keys have separate buckets (SPEC §7, §11.2): an agency's tests polling hard with a test key must
        // not get its production integration refused. Found by an outside review: reads shared one bucket per user.
        var user = await Env.CreateUserAsync();
        var live = ClientWithReadLimit(user, burst: 3);
        var test = ClientWithReadLimit(user, burst: 3);
        var (testKey, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");
        test.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", testKey);

        // Until the test key's bucket is empty (a token comes back every second, so a slow machine may need more than 4).
        var testReads = new List<HttpStatusCode>();
        while (testReads.Count < 20 && !testReads.Contains(HttpStatusCode.TooManyRequests))
        {
            testReads.Add((await MessageJson.GetAsync(test, "v1/transactional/govsg")).Response.StatusCode);
        }

        var (liveRead, body) = await MessageJson.GetAsync(live, "v1/transactional/govsg");

        Assert.That(testReads, Does.Contain(HttpStatusCode.TooManyRequests), "the test key used up its own read bucket");
        Assert.That(liveRead.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
    }

    [Test]
    public async Task Sends_WithATestKey_TakeFromASendBucketOfTheirOwn()
    {
        // SPEC §7, §11.2: an agency's load test with a test key must not use up the sends of its production integration.
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 2);
        var (testKey, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");
        using var test = Env.Client(testKey);

        // Until the test key's bucket is empty (a token comes back every second, so a slow machine may need more than 3).
        var testSends = new List<HttpStatusCode>();
        while (testSends.Count < 20 && !testSends.Contains(HttpStatusCode.TooManyRequests))
        {
            testSends.Add((await MessageJson.PostAsync(test, MessageJson.OfficerCall(TestRecipients.Next().Local))).Response.StatusCode);
        }

        var (liveSend, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local));

        Assert.That(testSends, Does.Contain(HttpStatusCode.TooManyRequests), "the test key used up its own send bucket");
        Assert.That(liveSend.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        Assert.That(liveSend.Headers.GetValues("RateLimit-Remaining").Single(), Is.EqualTo("1"), "the live bucket was full");
    }

    [Test]
    public async Task KeyAndCallbackWrites_TakeReadTokens_SoATenantCannotAddRowsWithoutBound()
    {
        var user = await Env.CreateUserAsync();
        var client = ClientWithReadLimit(user, burst: 2);
        var clock = Stopwatch.StartNew();

        var answers = new List<HttpResponseMessage>
        {
            await client.PutAsync("v1/callback-settings", Json("""{"url":"https://hooks.agency.example/govsg"}""")),
            await client.PostAsync("v1/callback-settings/rotate-secret", null),
        };
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await client.PostAsync("v1/api-keys", Json("""{"label":"one of many"}""")));
        }

        var limited = answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.That(answers[0].StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(limited, Has.Count.InRange(4 - (int)clock.Elapsed.TotalSeconds, 4));
        foreach (var refused in limited)
        {
            Assert.That((await refused.Content.ReadFromJsonAsync<JsonElement>()).Str("code"), Is.EqualTo("rate_limit"));
        }

        await using var connection = await Env.Database.OpenConnectionAsync();
        var created = answers.Skip(2).Count(a => a.StatusCode == HttpStatusCode.Created);
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM api_keys WHERE user_id = @Id", new { user.Id }),
            Is.EqualTo(1 + created), "a refused create stores no key");
    }

    /// <summary>The user's client on an Api whose read limit is one a second with this burst.</summary>
    private static HttpClient ClientWithReadLimit(TestUser user, int burst)
    {
        var client = Env.StartApi(new Dictionary<string, string?>
        {
            ["RateLimits:ReadsPerSecond"] = "1",
            ["RateLimits:ReadBurst"] = burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.Key);
        return client;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    /// <summary>
    /// The send tokens the user's live bucket has given out since its first message, at one a second: a full bucket's
    /// take moves its full time from the take's time on by a second a token, and a take within seconds of that one on
    /// from there.
    /// </summary>
    private static async Task<double> SendTokensTakenAsync(TestUser user)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<double>("""
            SELECT extract(epoch FROM b.full_at - (SELECT min(created_at) FROM messages WHERE user_id = @Id))
            FROM rate_limit_buckets b WHERE b.user_id = @Id AND b.bucket = 'send:live'
            """, new { user.Id });
    }

    /// <summary>A batch of <paramref name="items"/> copies of <see cref="Body"/>, with an Idempotency-Key when one is given.</summary>
    private static async Task<(HttpResponseMessage Response, JsonElement Body)> PostBatchAsync(TestUser user, int items, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/transactional/govsg/batch")
        {
            Content = Json("""{"messages":[""" + string.Join(',', Enumerable.Repeat(Body, items)) + "]}"),
        };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return await MessageJson.SendAsync(user.Client, request);
    }

    private static Task<(HttpResponseMessage, JsonElement)> PostWithKeyAsync(TestUser user, string key) =>
        MessageJson.PostAsync(user.Client, JsonDocument.Parse(Body).RootElement,
            request => request.Headers.Add("Idempotency-Key", key));
}
