using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;

namespace GovSg.Tests.Integration.Callbacks;

/// <summary>The callback settings routes and the operator's command (SPEC §11.1).</summary>
public sealed class CallbackSettingsTests
{
    private static TestSystem Env => TestEnvironment.Current;

    internal static async Task<(HttpResponseMessage Response, JsonElement Body)> PutAsync(HttpClient client, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "v1/callback-settings")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        return await MessageJson.SendAsync(client, request);
    }

    /// <summary>Points the user's callbacks at the URL; returns the secret created by the first set.</summary>
    internal static async Task<string> SetUrlAsync(HttpClient client, Uri url)
    {
        var (response, body) = await PutAsync(client, JsonSerializer.Serialize(new { url }));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        return body.Str("secret");
    }

    [Test]
    public async Task Get_WhenNeverSet_ReturnsTheEmptySettingsObject()
    {
        var user = await Env.CreateUserAsync();

        var (response, body) = await MessageJson.GetAsync(user.Client, "v1/callback-settings");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[]
        {
            "url", "secret_last_five", "last_success_at", "last_failure_at", "last_failure_reason", "pending",
        }));
        Assert.That(body.GetProperty("url").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(body.GetProperty("pending").GetInt64(), Is.Zero);
    }

    [Test]
    public async Task Put_FirstSet_ReturnsTheSecretOnce_AndGetShowsItsLastFive()
    {
        var user = await Env.CreateUserAsync();

        var (first, firstBody) = await PutAsync(user.Client, """{"url":"https://hooks.agency.example/govsg"}""");
        var (_, secondBody) = await PutAsync(user.Client, """{"url":"https://hooks.agency.example/other"}""");
        var (_, settings) = await MessageJson.GetAsync(user.Client, "v1/callback-settings");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var secret = firstBody.Str("secret");
        Assert.That(secret, Has.Length.GreaterThanOrEqualTo(32));
        Assert.That(secondBody.TryGetProperty("secret", out _), Is.False, "only the set that creates the secret shows it");
        Assert.That(settings.Str("url"), Is.EqualTo("https://hooks.agency.example/other"));
        Assert.That(settings.Str("secret_last_five"), Is.EqualTo(secret[^5..]));
    }

    [Test]
    public async Task RotateSecret_ReturnsANewSecret_AndKeepsThePreviousOneValidFor24Hours()
    {
        var user = await Env.CreateUserAsync();
        var first = await SetUrlAsync(user.Client, new Uri("https://hooks.agency.example/govsg"));

        using var rotate = await user.Client.PostAsync("v1/callback-settings/rotate-secret", null);
        var rotated = (await rotate.Content.ReadFromJsonAsync<JsonElement>()).Str("secret");

        Assert.That(rotate.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(rotated, Is.Not.EqualTo(first).And.Length.GreaterThanOrEqualTo(32));
        await using var connection = await Env.Database.OpenConnectionAsync();
        var validUntil = await connection.ExecuteScalarAsync<DateTime>(
            "SELECT valid_until FROM callback_secrets WHERE user_id = @Id AND secret = @first", new { user.Id, first });
        Assert.That(validUntil, Is.EqualTo(DateTime.UtcNow.AddHours(24)).Within(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public async Task RotateSecret_WithABodyOver64KiB_Answers413AndKeepsTheSecret()
    {
        var user = await Env.CreateUserAsync();
        var first = await SetUrlAsync(user.Client, new Uri("https://hooks.agency.example/govsg"));

        using var rotate = await user.Client.PostAsync("v1/callback-settings/rotate-secret",
            new StringContent(new string('x', 64 * 1024 + 1), Encoding.UTF8, "application/json"));

        Assert.That(rotate.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That((await rotate.Content.ReadFromJsonAsync<JsonElement>()).Str("code"), Is.EqualTo("payload_too_large"));
        await using var connection = await Env.Database.OpenConnectionAsync();
        Assert.That(await connection.ExecuteScalarAsync<string>(
            "SELECT secret FROM callback_secrets WHERE user_id = @Id AND valid_until IS NULL", new { user.Id }), Is.EqualTo(first));
    }

    [Test]
    public async Task RotateSecret_WithAChunkedBodyOver64KiB_Answers413AndKeepsTheSecret()
    {
        // The same body as above without a Content-Length (chunked, as a streaming client sends it): its size is known
        // only by reading it, and SPEC §3 refuses it all the same.
        var user = await Env.CreateUserAsync();
        var first = await SetUrlAsync(user.Client, new Uri("https://hooks.agency.example/govsg"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/callback-settings/rotate-secret")
        {
            Content = new StringContent(new string('x', 64 * 1024 + 1), Encoding.UTF8, "application/json"),
        };
        request.Headers.TransferEncodingChunked = true;

        using var rotate = await user.Client.SendAsync(request);

        Assert.That(rotate.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That((await rotate.Content.ReadFromJsonAsync<JsonElement>()).Str("code"), Is.EqualTo("payload_too_large"));
        await using var connection = await Env.Database.OpenConnectionAsync();
        Assert.That(await connection.ExecuteScalarAsync<string>(
            "SELECT secret FROM callback_secrets WHERE user_id = @Id AND valid_until IS NULL", new { user.Id }), Is.EqualTo(first));
    }

    [Test]
    public async Task RotateSecret_Again_DeletesTheSecretItsOverlapEnds_SoAtMostTwoAreKept()
    {
        var user = await Env.CreateUserAsync();
        var first = await SetUrlAsync(user.Client, new Uri("https://hooks.agency.example/govsg"));

        string? last = null;
        for (var i = 0; i < 3; i++)
        {
            using var rotate = await user.Client.PostAsync("v1/callback-settings/rotate-secret", null);
            Assert.That(rotate.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            last = (await rotate.Content.ReadFromJsonAsync<JsonElement>()).Str("secret");
        }

        await using var connection = await Env.Database.OpenConnectionAsync();
        var kept = (await connection.QueryAsync<(string Secret, DateTime? ValidUntil)>(
            "SELECT secret, valid_until FROM callback_secrets WHERE user_id = @Id ORDER BY valid_until NULLS LAST", new { user.Id })).ToList();
        Assert.That(kept, Has.Count.EqualTo(2));
        Assert.That(kept.Select(k => k.Secret), Does.Not.Contain(first));
        Assert.That(kept[1], Is.EqualTo((last!, (DateTime?)null)));
        Assert.That(kept[0].ValidUntil, Is.EqualTo(DateTime.UtcNow.AddHours(24)).Within(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public async Task TestKey_GetsUnauthorizedOnEveryRoute()
    {
        var user = await Env.CreateUserAsync();
        var (testKey, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");
        var client = Env.Client(testKey);

        var (get, getBody) = await MessageJson.GetAsync(client, "v1/callback-settings");
        var (put, _) = await PutAsync(client, """{"url":"https://hooks.agency.example/govsg"}""");
        using var putText = await client.PutAsync("v1/callback-settings", new StringContent("{", Encoding.UTF8, "text/plain"));
        using var rotate = await client.PostAsync("v1/callback-settings/rotate-secret", null);

        Assert.That(new[] { get.StatusCode, put.StatusCode, putText.StatusCode, rotate.StatusCode },
            Is.All.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(getBody.Str("code"), Is.EqualTo("unauthorized"));
        Assert.That((await MessageJson.GetAsync(user.Client, "v1/callback-settings")).Body.Str("url"), Is.Empty);
    }

    [TestCase("""{}""", "\"url\" is required")]
    [TestCase("""{"url":5}""", "\"url\" must be a string")]
    [TestCase("""{"url":"https://hooks.agency.example","extra":1}""", "\"extra\" is not allowed")]
    [TestCase("""{"url":"not a url"}""", "\"url\" must be a valid uri with a scheme matching the https?|http pattern")]
    [TestCase("""{"url":"ftp://hooks.agency.example"}""", "\"url\" must be a valid uri with a scheme matching the https?|http pattern")]
    [TestCase("""{"url":"https://10.1.2.3/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://192.168.0.1/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://172.16.5.4/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://169.254.169.254/latest"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://100.64.0.1/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://169.254.169.254./latest"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://10.0.0.1./hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://hooks.agency.example:0/hook"}""", "\"url\" must be a valid uri with a scheme matching the https?|http pattern")]
    [TestCase("""{"url":" https://hooks.agency.example/hook "}""", "\"url\" must be a valid uri with a scheme matching the https?|http pattern")]
    [TestCase("""{"url":"https://[fd00::1]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[fe80::1]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://0.0.0.0/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[::ffff:10.0.0.1]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[64:ff9b::a9fe:a9fe]/latest"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[2002:a9fe:a9fe::]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[::a9fe:a9fe]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://192.0.0.1/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://198.18.0.1/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[100::1]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://192.88.99.1/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[2001:2::1]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[2001:1ff::1]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[3fff:fff::1]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://[5f00::1]/hook"}""", "\"url\" must not point to a private, loopback or link-local address")]
    [TestCase("""{"url":"https://256.0.0.1/hook"}""", "\"url\" must be a valid uri with a scheme matching the https?|http pattern")]
    [TestCase("""{"url":"https://1.2.3.4.5/hook"}""", "\"url\" must be a valid uri with a scheme matching the https?|http pattern")]
    [TestCase("""{"url":"https://hooks.agency.0x1F./hook"}""", "\"url\" must be a valid uri with a scheme matching the https?|http pattern")]
    [TestCase("""{"url":"https://hooks.agency.example/a\u0000b"}""", "\"url\" must not contain control characters")]
    [TestCase("""{"url":"https://hooks.agency.example/\u001b[2J\r\nurl: https://other.example/"}""", "\"url\" must not contain control characters")]
    public async Task Put_WhenTheBodyOrAddressIsRefused_Returns400AndStoresNothing(string json, string message)
    {
        var user = await Env.CreateUserAsync();

        var (response, body) = await PutAsync(user.Client, json);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.Str("code"), Is.EqualTo("api_validation"));
        Assert.That(body.Str("message"), Is.EqualTo(message));
        Assert.That((await MessageJson.GetAsync(user.Client, "v1/callback-settings")).Body.Str("url"), Is.Empty);
    }

    [TestCase("https://203.0.114.7/hook")]
    [TestCase("https://[2606:4700:4700::1111]/hook")]
    [TestCase("https://[2001:200::1]/hook")]
    [TestCase("https://[3ffe::1]/hook")]
    [TestCase("https://[3fff:1000::1]/hook")]
    [TestCase("https://[64:ff9b::cb00:7207]/hook")]
    [TestCase("https://[2002:cb00:7207::1]/hook")]
    [TestCase("https://203.0.114.7./hook")]
    [TestCase("https://311.agency.example/hook")]
    [TestCase("https://hooks.agency.0x1g/hook")]
    public async Task Put_APublicAddressOrANameThatIsNoAddress_IsStored(string url)
    {
        var user = await Env.CreateUserAsync();

        var (response, body) = await PutAsync(user.Client, JsonSerializer.Serialize(new { url }));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.That(body.Str("url"), Is.EqualTo(url));
    }

    [TestCase("http://127.0.0.1:9/hook")]
    [TestCase("https://127.0.0.1/hook")]
    [TestCase("https://[::1]/hook")]
    [TestCase("https://localhost/hook")]
    [TestCase("http://hooks.agency.example/hook")]
    public async Task Put_WithoutTheLocalRunSetting_RefusesLoopbackAndHttp(string url)
    {
        var api = Env.StartApi(new Dictionary<string, string?> { ["Callbacks:AllowInsecureLoopback"] = "false" });
        var user = await Env.CreateUserAsync();
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = user.Client.DefaultRequestHeaders.Authorization;

        var (response, body) = await PutAsync(client, JsonSerializer.Serialize(new { url }));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToString());
        Assert.That(body.Str("code"), Is.EqualTo("api_validation"));
    }

    [Test]
    public async Task Put_UrlNull_TurnsCallbacksOffAndDiscardsPendingEvents()
    {
        var user = await UserWithPendingEventsAsync(1);

        var pendingBefore = (await MessageJson.GetAsync(user.Client, "v1/callback-settings")).Body.GetProperty("pending").GetInt64();
        var (response, body) = await PutAsync(user.Client, """{"url":null}""");

        Assert.That(pendingBefore, Is.EqualTo(1));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body.GetProperty("url").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(body.GetProperty("pending").GetInt64(), Is.Zero);
        Assert.That(await EventsLeftAsync(user.Id), Is.Zero, "the delivery workers delete what was discarded");
    }

    /// <summary>
    /// Hours of a dead endpoint leave millions of events, more than a request's statement timeout deletes (5 million took
    /// 8 s here): turning callbacks off then failed with 503. The request now only marks them discarded, and the
    /// delivery workers delete them in batches. Here the Api's statements may take 250 ms, less than deleting a million.
    /// </summary>
    [Test]
    public async Task Put_UrlNull_WithMoreEventsThanTheRequestCouldDelete_TurnsCallbacksOffAndTheWorkersDeleteThem()
    {
        var user = await UserWithPendingEventsAsync(1_000_000);

        var api = Env.StartApi(new Dictionary<string, string?> { ["Database:StatementTimeout"] = "00:00:00.250" });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = user.Client.DefaultRequestHeaders.Authorization;
        var (off, offBody) = await PutAsync(client, """{"url":null}""");
        var left = await EventsLeftAsync(user.Id);
        var (on, onBody) = await PutAsync(client, JsonSerializer.Serialize(new { url = "https://hooks.agency.example/govsg" }));

        Assert.That(off.StatusCode, Is.EqualTo(HttpStatusCode.OK), offBody.ToString());
        Assert.That(offBody.GetProperty("pending").GetInt64(), Is.Zero);
        Assert.That(left, Is.Zero, "the delivery workers delete what was discarded");
        Assert.That(on.StatusCode, Is.EqualTo(HttpStatusCode.OK), onBody.ToString());
        Assert.That(onBody.GetProperty("pending").GetInt64(), Is.Zero, "what was discarded stays discarded");
    }

    /// <summary>
    /// Every Dispatcher hears a discard at once. A second worker's batch picked the rows the first was deleting, found them
    /// gone once it committed, and took the user for done: the rest stayed, to be read past by every claim once callbacks
    /// were on again, until the 24 h give-up. Here the running Dispatcher and three more workers share one user's discard.
    /// </summary>
    [Test]
    public async Task Put_UrlNull_WithSeveralWorkersDeletingAtOnce_LeavesNoneOfTheDiscardedEvents()
    {
        var user = await UserWithPendingEventsAsync(100_000);
        var store = new GovSg.Dispatcher.Callbacks.CallbackStore(Env.Database);

        var (off, offBody) = await PutAsync(user.Client, """{"url":null}""");
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            (long, long) last = default;
            while (await store.DeleteDiscardedAsync(last, 10_000, CancellationToken.None) is { } round)
            {
                last = round;
            }
        })));

        Assert.That(off.StatusCode, Is.EqualTo(HttpStatusCode.OK), offBody.ToString());
        Assert.That(await EventsLeftAsync(user.Id), Is.Zero, "a worker took the user for done with discarded events left");
    }

    /// <summary>
    /// A new URL makes the user's events due at once, while the Dispatcher records a round of deliveries, which deletes the
    /// delivered events in id order. Were the URL change to take them in another order (the soonest due first: this test
    /// then gets a 503), each would hold an event the other wants, and PostgreSQL would end one of them: the agency's PUT,
    /// or the record of deliveries already made.
    /// </summary>
    [Test]
    public async Task Put_NewUrl_WhileTheDispatcherRecordsDeliveriesOfTheUser_NeitherWaitsForTheOtherInTurn()
    {
        var user = await Env.CreateUserAsync();
        await SetUrlAsync(user.Client, new Uri("https://hooks.agency.example/govsg"));
        await using var connection = await Env.Database.OpenConnectionAsync();
        // Two events under delivery (their leases ahead), the one with the higher id due first once its lease ends.
        var ids = (await connection.QueryAsync<long>("""
            INSERT INTO status_events (user_id, message_id, key_type, created_at, data, next_attempt_at)
            VALUES (@Id, 1, 'live', now(), '{}', now() + interval '2 minutes'),
                   (@Id, 2, 'live', now(), '{}', now() + interval '1 minute')
            RETURNING id
            """, new { user.Id })).Order().ToList();
        // The first was written again since, as a claim writes an event: the table holds it after the second now.
        await connection.ExecuteAsync("UPDATE status_events SET attempts = 1 WHERE id = @id", new { id = ids[0] });

        // The record of deliveries has taken the first event and is about to take the second.
        await using var recorder = await Env.Database.OpenConnectionAsync();
        await using var recording = await recorder.BeginTransactionAsync();
        await recorder.ExecuteAsync("DELETE FROM status_events WHERE id = @id", new { id = ids[0] }, recording);
        var put = PutAsync(user.Client, """{"url":"https://hooks-new.agency.example/govsg"}""");
        Assert.That(await Env.StatementsWaitingOnALockAsync("UPDATE status_events SET next_attempt_at"), Is.GreaterThan(0),
            "the URL change waits on the first event");
        var second = await recorder.ExecuteAsync("DELETE FROM status_events WHERE id = @id", new { id = ids[1] }, recording,
            commandTimeout: 10);
        await recording.CommitAsync();
        var (response, body) = await put;

        Assert.That(second, Is.EqualTo(1), "the record of deliveries took the second event");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM status_events WHERE user_id = @Id",
            new { user.Id }), Is.Zero);
    }

    /// <summary>A user with callbacks on and <paramref name="count"/> events due, at an endpoint paused so none is delivered.</summary>
    private static async Task<TestUser> UserWithPendingEventsAsync(int count)
    {
        var user = await Env.CreateUserAsync();
        await SetUrlAsync(user.Client, new Uri("https://hooks.agency.example/govsg"));
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE callback_settings SET paused_until = 'infinity' WHERE user_id = @Id", new { user.Id });
        await connection.ExecuteAsync("""
            INSERT INTO status_events (user_id, message_id, key_type, created_at, data, next_attempt_at)
            SELECT @Id, g, 'live', now(), '{}', now() FROM generate_series(1, @count) g
            """, new { user.Id, count }, commandTimeout: 120);
        return user;
    }

    /// <summary>The user's events left once the delivery workers say they are done deleting the discarded.</summary>
    private static async Task<long> EventsLeftAsync(long userId)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await Poll.UntilAsync(() => connection.ExecuteScalarAsync<bool>(
            "SELECT discard_pending FROM callback_settings WHERE user_id = @userId", new { userId }), pending => !pending,
            TimeSpan.FromSeconds(60));
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM status_events WHERE user_id = @userId", new { userId });
    }

    [Test]
    public async Task AdminCallbackSetAndShow_SetTheUrlAndPrintTheSettings()
    {
        var user = await Env.CreateUserAsync();

        var (setCode, setOutput) = await AdminCliTests.RunAsync("admin", "callback", "set", "--email", user.Email, "--url",
            "https://hooks.agency.example/cli");
        var (showCode, showOutput) = await AdminCliTests.RunAsync("admin", "callback", "show", "--email", user.Email);
        var (refusedCode, _) = await AdminCliTests.RunAsync("admin", "callback", "set", "--email", user.Email, "--url",
            "https://10.0.0.1/hook");

        Assert.That((setCode, showCode, refusedCode), Is.EqualTo((0, 0, 1)));
        Assert.That(setOutput, Does.Contain("secret=whsec_"));
        Assert.That(showOutput, Does.Contain("url=https://hooks.agency.example/cli").And.Not.Contain("secret="));
        Assert.That((await MessageJson.GetAsync(user.Client, "v1/callback-settings")).Body.Str("url"),
            Is.EqualTo("https://hooks.agency.example/cli"));
    }
}
