using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using GovSg.Api.Extensions;
using Microsoft.Extensions.DependencyInjection;

namespace GovSg.Tests.Integration;

/// <summary>Batch sends (SPEC §3.8) through the real HTTP stack, PostgreSQL, RabbitMQ and a Dispatcher.</summary>
public sealed class BatchSendTests
{
    private const string BatchPath = "v1/transactional/govsg/batch";

    private static TestSystem Env => TestEnvironment.Current;

    // One of each outcome; the index picks the kind, so the expected answer of every item is known.
    private static readonly string[] Kinds =
    [
        """{"recipient":"{0}","template_id":3}""",
        """{"recipient":"11234567","template_id":3}""",
        """{"recipient":"{0}","template_id":999}""",
        """{"template_id":3,"sender":"x"}""",
        """{"recipient":"{0}","template_id":2,"language_code":"ms"}""",
        """{"recipient":"{0}","template_id":3,"params":{"x":"y"}}""",
        """{"recipient":"{0}","template_id":"3","language_code":"en_GB"}""",
    ];

    [Test]
    public async Task Batch_With1000MixedItems_AnswersInRequestOrderWithTheSingleSendErrorsAndStoresOnlyTheAccepted()
    {
        var user = await Env.CreateUserAsync(grants: [1, 2, 3]);
        var items = Enumerable.Range(0, 1000).Select(i => Kinds[i % Kinds.Length].Replace("{0}", TestRecipients.Next().Local,
            StringComparison.Ordinal)).ToList();
        var published = await Env.PublishedCommandCountAsync();

        var (response, body) = await PostAsync(user.Client, Batch(items));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var data = body.GetProperty("data").EnumerateArray().ToList();
        Assert.That(data.Select(e => e.GetProperty("index").GetInt32()), Is.EqualTo(Enumerable.Range(0, 1000)));
        var acceptedIndexes = Enumerable.Range(0, 1000).Where(i => i % Kinds.Length is 0 or 6).ToList();
        Assert.That(body.GetProperty("accepted").GetInt32(), Is.EqualTo(acceptedIndexes.Count));
        Assert.That(body.GetProperty("rejected").GetInt32(), Is.EqualTo(1000 - acceptedIndexes.Count));
        Assert.That(data.Where(e => e.TryGetProperty("message", out _)).Select(e => e.GetProperty("index").GetInt32()),
            Is.EqualTo(acceptedIndexes));
        Assert.That(data.Where(e => e.TryGetProperty("message", out _)).Select(e => e.GetProperty("message").Str("status")),
            Is.All.EqualTo("UNSENT"));
        Assert.That(data.Select(e => e.EnumerateObject().Count()), Is.All.EqualTo(2), "an entry has a message or an error");

        // Each rejected item carries exactly what the same body gets from a single send.
        for (var kind = 1; kind < 6; kind++)
        {
            var (_, single) = await MessageJson.PostRawAsync(user.Client, items[kind]);
            Assert.That(data[kind].GetProperty("error").ToString(), Is.EqualTo(single.ToString()), Kinds[kind]);
        }

        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(acceptedIndexes.Count));
        var ids = data.Where(e => e.TryGetProperty("message", out _)).Select(e => long.Parse(e.GetProperty("message").Str("id"),
            System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.That(await Poll.UntilAsync(() => CountUnsentAsync(ids), n => n == 0, TimeSpan.FromSeconds(60)), Is.Zero,
            "every accepted item is dispatched");
        Assert.That(await Env.PublishedCommandCountAsync() - published, Is.LessThan(acceptedIndexes.Count),
            "a batch is not dispatched with one command per message");
    }

    [TestCase("""{"messages":[]}""", "\"messages\" must contain at least 1 items")]
    [TestCase("""{"messages":{"recipient":"91234567"}}""", "\"messages\" must be an array")]
    [TestCase("""{"messages":null}""", "\"messages\" must be an array")]
    [TestCase("""{}""", "\"messages\" is required")]
    [TestCase("""{"messages":[{"recipient":"91234567","template_id":3}],"priority":1}""", "\"priority\" is not allowed")]
    [TestCase("""[{"recipient":"91234567","template_id":3}]""", "\"value\" must be of type object")]
    public async Task Batch_WhenTheRequestIsWrong_RefusesItWholeAndStoresNothing(string body, string message)
    {
        var user = await Env.CreateUserAsync();

        var (response, error) = await PostAsync(user.Client, body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("code"), Is.EqualTo("api_validation"));
        Assert.That(error.Str("message"), Is.EqualTo(message));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    [Test]
    public async Task Batch_WithMoreThan1000Items_IsRefusedWhole()
    {
        var user = await Env.CreateUserAsync();

        var (response, error) = await PostAsync(user.Client, Batch(Enumerable.Repeat(Valid(), 1001)));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("message"), Is.EqualTo("\"messages\" must contain less than or equal to 1000 items"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    [Test]
    public async Task Batch_OverTheBurst_IsRefusedWith400()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 4);

        var (response, error) = await PostAsync(user.Client, Batch(Enumerable.Repeat(Valid(), 5)));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("message"), Is.EqualTo("Batch of 5 messages exceeds your burst allowance of 4"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    [Test]
    public async Task Batch_WithoutEnoughTokens_Answers429AndStoresNothing()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 10);
        var (first, _) = await PostAsync(user.Client, Batch([Valid(), Valid(), Valid(), Valid(), Valid(), Valid(), "{}", "{}"]));

        var (second, error) = await PostAsync(user.Client, Batch(Enumerable.Repeat(Valid(), 8)));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(first.Headers.GetValues("RateLimit-Remaining").Single(), Is.EqualTo("2"), "rejected items take tokens too");
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(error.Str("code"), Is.EqualTo("rate_limit"));
        Assert.That(second.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(5, 6));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(6));
    }

    [Test]
    public async Task Batch_WhenReplayed_ReturnsTheSameEntriesWithCurrentStatesAndStoresNothingNew()
    {
        var user = await Env.CreateUserAsync();
        var body = Batch([Valid(), """{"recipient":"11234567","template_id":3}""", Valid()]);
        var (first, original) = await PostAsync(user.Client, body, "batch-replay");
        var firstId = original.GetProperty("data")[0].GetProperty("message").Str("id");
        await MessageJson.WaitForStatusAsync(user.Client, firstId, "READ");

        var (replay, replayed) = await PostAsync(user.Client, body, "batch-replay");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(replay.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(replayed.GetProperty("accepted").GetInt32(), Is.EqualTo(2));
        Assert.That(replayed.GetProperty("rejected").GetInt32(), Is.EqualTo(1));
        Assert.That(replayed.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("index").GetInt32()),
            Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(replayed.GetProperty("data")[0].GetProperty("message").Str("id"), Is.EqualTo(firstId));
        Assert.That(replayed.GetProperty("data")[0].GetProperty("message").Str("status"), Is.EqualTo("READ"));
        Assert.That(replayed.GetProperty("data")[1].GetProperty("error").ToString(),
            Is.EqualTo(original.GetProperty("data")[1].GetProperty("error").ToString()));
        Assert.That(replayed.GetProperty("data")[2].GetProperty("message").Str("id"),
            Is.EqualTo(original.GetProperty("data")[2].GetProperty("message").Str("id")));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(2));
    }

    [Test]
    public async Task Batch_WithAKeyAndARejectedItemWhoseErrorEchoesANul_IsStoredAndReplayed()
    {
        // The rejected item's message echoes its recipient, NUL included (SPEC §3.8: as a single send would answer).
        var user = await Env.CreateUserAsync();
        var body = Batch([Valid(), """{"recipient":"9123\u00004567","template_id":3}"""]);

        var (first, original) = await PostAsync(user.Client, body, "batch-nul");
        var (replay, replayed) = await PostAsync(user.Client, body, "batch-nul");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(original.GetProperty("data")[1].GetProperty("error").Str("message"),
            Is.EqualTo("recipient 9123\u00004567 is not a valid phone number"));
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(replay.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(replayed.GetProperty("data")[1].GetProperty("error").ToString(),
            Is.EqualTo(original.GetProperty("data")[1].GetProperty("error").ToString()));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    [Test]
    public async Task Batch_WhenTheKeyNamesAnotherBodyOrRoute_Answers422()
    {
        var user = await Env.CreateUserAsync();
        await PostAsync(user.Client, Batch([Valid()]), "batch-key");
        await MessageJson.PostAsync(user.Client, JsonDocument.Parse(Valid()).RootElement,
            request => request.Headers.Add("Idempotency-Key", "single-key"));

        var (otherBody, otherBodyError) = await PostAsync(user.Client, Batch([Valid(), Valid()]), "batch-key");
        var (singleKey, singleKeyError) = await PostAsync(user.Client, Batch([Valid()]), "single-key");
        var (batchKey, batchKeyError) = await MessageJson.PostAsync(user.Client, JsonDocument.Parse(Valid()).RootElement,
            request => request.Headers.Add("Idempotency-Key", "batch-key"));

        Assert.That(new[] { otherBody.StatusCode, singleKey.StatusCode, batchKey.StatusCode },
            Is.All.EqualTo(HttpStatusCode.UnprocessableEntity));
        Assert.That(new[] { otherBodyError, singleKeyError, batchKeyError }.Select(e => e.Str("code")),
            Is.All.EqualTo("idempotency_mismatch"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(2));
    }

    [Test]
    public async Task Batch_TwoIdenticalAtOnceWithOneKey_MakeOneBatch()
    {
        var user = await Env.CreateUserAsync();
        var body = Batch(Enumerable.Range(0, 50).Select(_ => Valid()));

        var answers = await Task.WhenAll(PostAsync(user.Client, body, "racing"), PostAsync(user.Client, body, "racing"));

        Assert.That(answers.Select(a => a.Response.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That(answers.Count(a => a.Response.Headers.Contains("Idempotency-Replayed")), Is.EqualTo(1));
        Assert.That(answers[0].Body.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("message").Str("id")),
            Is.EqualTo(answers[1].Body.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("message").Str("id"))));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(50));
    }

    [Test]
    public async Task Batch_OverTheServersOneMebibyte_IsRead()
    {
        var user = await Env.CreateUserAsync();
        var longValue = new string('x', 1_100);
        var heavy = Enumerable.Range(0, 1000).Select(_ =>
            """{"recipient":"91234567","template_id":3,"params":{"x":""" + $"\"{longValue}\"}}}}").ToList();

        var (read, readBody) = await PostAsync(user.Client, Batch(heavy));

        Assert.That(Encoding.UTF8.GetByteCount(Batch(heavy)), Is.GreaterThan(1024 * 1024));
        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(readBody.GetProperty("rejected").GetInt32(), Is.EqualTo(1000));
    }

    // SPEC §3: "Agency request bodies over 64 KiB are rejected (413), batch sends over 4 MiB": a batch just under 4 MiB is
    // read whether it arrives with a Content-Length or chunked (as HttpClient's JsonContent sends it).
    [Test]
    public async Task Batch_JustUnderFourMebibytesSentChunked_IsRead()
    {
        var user = await Env.CreateUserAsync();
        var batch = Batch([Valid()]);
        var body = batch[..^1] + new string(' ', 4 * 1024 * 1024 - 1 - batch.Length) + "}";
        using var request = new HttpRequestMessage(HttpMethod.Post, BatchPath)
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body))) { Headers = { { "Content-Type", "application/json" } } },
        };
        request.Headers.TransferEncodingChunked = true;

        var (response, answer) = await MessageJson.SendAsync(user.Client, request);

        Assert.That(Encoding.UTF8.GetByteCount(body), Is.EqualTo(4 * 1024 * 1024 - 1));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), answer.ToString());
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    // A batch body can cost tens of MiB to parse before any check refuses it: an Api works on a bounded number of batches
    // at once, and the next ones wait their turn (then are answered as usual) rather than all being parsed together.
    [Test]
    public async Task Batch_BeyondTheApisConcurrentBatches_WaitsItsTurn()
    {
        var (first, second) = (await Env.CreateUserAsync(), await Env.CreateUserAsync());

        var (storing, answers) = await StoringAtOnceAsync(new() { ["Messages:ConcurrentBatches"] = "1" }, null, first, second);

        Assert.That(storing, Is.EqualTo(1), "batches storing at once on an Api that works on one at a time");
        Assert.That(answers, Is.All.EqualTo(HttpStatusCode.OK));
    }

    // One agency sending many batches takes only its own share of an Api's slots: another's batch goes on beside them.
    [Test]
    public async Task Batch_BeyondAUsersConcurrentBatches_WaitsWhileAnotherUsersGoesOn()
    {
        var (busy, other) = (await Env.CreateUserAsync(), await Env.CreateUserAsync());

        var (storing, answers) = await StoringAtOnceAsync(new() { ["Messages:ConcurrentBatchesPerUser"] = "1" }, null, busy, busy, other);

        Assert.That(storing, Is.EqualTo(2), "one of the busy user's batches and the other user's");
        Assert.That(answers, Is.All.EqualTo(HttpStatusCode.OK));
    }

    // Beyond a user's slots and their queue, a batch is refused before its body is read, with nothing stored.
    [Test]
    public async Task Batch_BeyondAUsersQueuedBatches_Answers503()
    {
        var busy = await Env.CreateUserAsync();
        using var counted = new Counted(ApiMetrics.MeterName, "govsg.requests.slot_refused", new("kind", "batch"));

        var (storing, answers) = await StoringAtOnceAsync(OneSlotOneQueued, null, busy, busy, busy);

        Assert.That(storing, Is.EqualTo(1));
        Assert.That(answers.Count(a => a == HttpStatusCode.OK), Is.EqualTo(2));
        Assert.That(answers.Count(a => a == HttpStatusCode.ServiceUnavailable), Is.EqualTo(1));
        Assert.That(counted.Total, Is.EqualTo(1), "the refusal is counted");
        Assert.That(await Env.CountMessagesAsync(busy.Id), Is.EqualTo(2));
    }

    // SPEC §3.8: "concurrent duplicates make one batch (the losers wait and replay)", however many come at once. The
    // duplicates wait for the first with their key before taking a slot, so they do not fill the user's queue.
    [Test]
    public async Task Batch_MoreDuplicatesAtOnceThanAUsersQueue_AllAnswerTheOneBatch()
    {
        var busy = await Env.CreateUserAsync();

        var (storing, answers) = await StoringAtOnceAsync(OneSlotOneQueued, "many-at-once", busy, busy, busy, busy, busy);

        Assert.That(storing, Is.EqualTo(1));
        Assert.That(answers, Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That(await Env.CountMessagesAsync(busy.Id), Is.EqualTo(1));
    }

    // A batch holds its slot while its body arrives. One whose body stops arriving is refused at its deadline, storing
    // nothing, and the batch waiting for its slot goes on: a client that sends part of a body and stops cannot hold an
    // Api's batches up for longer than that.
    [Test]
    public async Task Batch_WhoseBodyStopsArriving_IsRefusedAtItsDeadlineAndTheNextTakesItsSlot()
    {
        var (stalled, next) = (await Env.CreateUserAsync(), await Env.CreateUserAsync());
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["Messages:ConcurrentBatches"] = "1",
            ["Messages:BatchBodyTimeout"] = "00:00:05",
        }, kestrel: true);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(api.Address.Host, api.Address.Port);
        var stream = tcp.GetStream();
        // 128 KiB up front: at Kestrel's minimum data rate (240 bytes/s) that buys over eight minutes of silence.
        var part = """{"messages":[""" + Valid() + new string(' ', 128 * 1024);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /{BatchPath} HTTP/1.1\r\nHost: {api.Address.Authority}\r\n" +
            $"Authorization: Bearer {stalled.Key}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{part}"));
        var stalledAnswer = ReadAnswerAsync(stream);
        var slots = api.Services.GetRequiredService<GovSg.Api.Messages.BatchSlots>();
        Assert.That(await Poll.UntilAsync(() => Task.FromResult(slots.Free), free => free == 0),
            Is.Zero, "the stalled batch took the Api's one slot before its deadline");
        using var nextClient = ClientOf(api, next);
        var nextAnswer = PostAsync(nextClient, Batch([Valid()]));

        var first = await Task.WhenAny(stalledAnswer, nextAnswer).WaitAsync(TimeSpan.FromSeconds(20));
        var stalledText = await stalledAnswer.WaitAsync(TimeSpan.FromSeconds(20));
        var (nextResponse, _) = await nextAnswer.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.That(first, Is.SameAs(stalledAnswer), "the stalled batch held the slot, and was answered first");
        Assert.That(stalledText, Does.StartWith("HTTP/1.1 400"));
        Assert.That(stalledText, Does.Contain("""{"code":"api_validation","message":"The request body did not arrive in time"}"""));
        Assert.That(nextResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await Env.CountMessagesAsync(stalled.Id), Is.Zero);
        Assert.That(await Env.CountMessagesAsync(next.Id), Is.EqualTo(1));

        static async Task<string> ReadAnswerAsync(System.Net.Sockets.NetworkStream stream)
        {
            var answer = new byte[4096];
            var read = 0;
            while (!Encoding.ASCII.GetString(answer, 0, read).Contains("}\r\n", StringComparison.Ordinal)
                   && await stream.ReadAsync(answer.AsMemory(read)) is > 0 and var n)
            {
                read += n;
            }

            return Encoding.ASCII.GetString(answer, 0, read);
        }
    }

    private static HttpClient ClientOf(Host<GovSg.Api.Program> api, TestUser user)
    {
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", user.Key);
        return client;
    }

    private static Dictionary<string, string?> OneSlotOneQueued => new()
    {
        ["Messages:ConcurrentBatchesPerUser"] = "1",
        ["Messages:QueuedBatchesPerUser"] = "1",
    };

    /// <summary>
    /// One batch per sender, sent at once to an Api with these settings while the senders' inserts are held: how many got
    /// as far as storing, and then, released, how each was answered. With a key, every sender sends one body under it.
    /// </summary>
    private static async Task<(long Storing, HttpStatusCode[] Answers)> StoringAtOnceAsync(
        Dictionary<string, string?> settings, string? idempotencyKey, params TestUser[] senders)
    {
        var api = Env.StartApi(settings);
        var clients = senders.Select(sender => ClientOf(api, sender)).ToList();
        await using var hold = await InsertHold.StartAsync(Env.Database, [.. senders.Select(s => s.Id).Distinct()]);
        var duplicate = Batch([Valid()]);
        var answers = clients.Select(client => idempotencyKey is null
            ? PostAsync(client, Batch([Valid()]))
            : PostAsync(client, duplicate, idempotencyKey)).ToList();
        await Env.StatementsWaitingOnALockAsync("INSERT INTO messages");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var storing = await Env.StatementsWaitingOnALockAsync("INSERT INTO messages");
        await hold.ReleaseAsync();
        var codes = (await Task.WhenAll(answers)).Select(a => a.Response.StatusCode).ToArray();
        clients.ForEach(client => client.Dispose());
        return (storing, codes);
    }

    private static string Valid() => $$"""{"recipient":"{{TestRecipients.Next().Local}}","template_id":3}""";

    private static string Batch(IEnumerable<string> items) => """{"messages":[""" + string.Join(',', items) + "]}";

    internal static async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(HttpClient client, string body,
        string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, BatchPath)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await MessageJson.SendAsync(client, request);
    }

    private static async Task<long> CountUnsentAsync(long[] ids)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE id = ANY(@ids) AND status = 'UNSENT'",
            new { ids });
    }
}
