using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;

namespace GovSg.Tests.Integration;

/// <summary>Self-service keys (SPEC §3.9) over HTTP: create, list, revoke, and what a test key may do.</summary>
public sealed class KeyApiTests
{
    private const string KeysPath = "v1/api-keys";

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Create_ShowsTheKeyOnceAndTheKeyWorks()
    {
        var user = await Env.CreateUserAsync();

        // Letters and symbols of any script are fine; only controls and invisible characters are refused.
        var (response, created) = await CreateAsync(user.Client, new { label = "rotation 2030 – 预约 ✓", valid_days = 30 });
        var (listed, list) = await MessageJson.GetAsync(user.Client, KeysPath);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True, "no cache may keep the key");
        Assert.That(response.Headers.GetValues("X-Content-Type-Options"), Is.EqualTo(new[] { "nosniff" }));
        Assert.That(created.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[]
        {
            "id", "label", "type", "last_five", "created_at", "last_used_at", "valid_until", "revoked_at", "key",
        }));
        Assert.That(created.Str("type"), Is.EqualTo("live"));
        Assert.That(created.Str("last_five"), Is.EqualTo(created.Str("key")[^5..]));
        var validFor = DateTime.Parse(created.Str("valid_until"), System.Globalization.CultureInfo.InvariantCulture)
                       - DateTime.Parse(created.Str("created_at"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(validFor, Is.EqualTo(TimeSpan.FromDays(30)));
        Assert.That(listed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var first = list.GetProperty("data")[0];
        Assert.That(first.Str("id"), Is.EqualTo(created.Str("id")), "newest first");
        Assert.That(first.Str("label"), Is.EqualTo("rotation 2030 – 预约 ✓"));
        Assert.That(first.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[]
        {
            "id", "label", "type", "last_five", "created_at", "last_used_at", "valid_until", "revoked_at",
        }));
        Assert.That(list.GetProperty("data").GetArrayLength(), Is.EqualTo(2));
        var (sent, _) = await MessageJson.PostRawAsync(Env.Client(created.Str("key")),
            """{"recipient":"91234567","template_id":3}""");
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.Created));
    }

    [TestCase("""{}""", "\"label\" is required")]
    [TestCase("""{"label":""}""", "\"label\" is not allowed to be empty")]
    [TestCase("""{"label":7}""", "\"label\" must be a string")]
    [TestCase("""{"label":"a\u0000b"}""", "\"label\" must not contain control characters")]
    [TestCase("""{"label":"ok\u001b[2J\nkey revoked"}""", "\"label\" must not contain control characters")]
    // A right-to-left override shows what follows it reversed on an operator's terminal (an outside review).
    [TestCase("""{"label":"ci \u202Edesrever"}""", "\"label\" must not contain control characters")]
    [TestCase("""{"label":"ci \u200F"}""", "\"label\" must not contain control characters")]
    // Invisible characters let one label pass for another in `admin key list` (an outside probe).
    [TestCase("""{"label":"booking\u200Bsystem"}""", "\"label\" must not contain control characters")]
    [TestCase("""{"label":"booking\u00ADsystem"}""", "\"label\" must not contain control characters")]
    [TestCase("""{"label":"booking system\uDB40\uDC41"}""", "\"label\" must not contain control characters")]
    [TestCase("""{"label":"booking\u2028system"}""", "\"label\" must not contain control characters")]
    [TestCase("""{"label":"x","valid_days":366}""", "\"valid_days\" must be less than or equal to 365")]
    [TestCase("""{"label":"x","valid_days":0}""", "\"valid_days\" must be greater than or equal to 1")]
    [TestCase("""{"label":"x","valid_days":"7"}""", "\"valid_days\" must be a number")]
    [TestCase("""{"label":"x","type":"prod"}""", "\"type\" must be one of [live, test]")]
    [TestCase("""{"label":"x","scope":"all"}""", "\"scope\" is not allowed")]
    public async Task Create_WhenTheBodyIsWrong_Answers400AndCreatesNothing(string body, string message)
    {
        var user = await Env.CreateUserAsync();

        var (response, error) = await MessageJson.SendAsync(user.Client, new HttpRequestMessage(HttpMethod.Post, KeysPath)
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("message"), Is.EqualTo(message));
        Assert.That((await MessageJson.GetAsync(user.Client, KeysPath)).Body.GetProperty("data").GetArrayLength(), Is.EqualTo(1));
    }

    [Test]
    public async Task Create_BeyondTenActiveKeysOfOneType_Answers400()
    {
        var user = await Env.CreateUserAsync();
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add((await CreateAsync(user.Client, new { label = $"k{i}" })).Response.StatusCode);
        }

        var (refused, error) = await CreateAsync(user.Client, new { label = "eleventh" });
        var (test, _) = await CreateAsync(user.Client, new { label = "a test key", type = "test" });

        Assert.That(answers.Count(s => s == HttpStatusCode.Created), Is.EqualTo(9), "the user's first key counts");
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("message"), Is.EqualTo("User has reached the limit of 10 active API keys"));
        Assert.That(test.StatusCode, Is.EqualTo(HttpStatusCode.Created), "test keys are counted apart");
    }

    /// <summary>
    /// SPEC §3.9 counts active keys (unrevoked, unexpired): an agency at the limit rotates by revoking one, or waits for one
    /// to expire, then creates the next. A key created without <c>valid_days</c> lasts 180 days.
    /// </summary>
    [Test]
    public async Task Create_AtTheLimit_AfterAKeyIsRevokedOrExpires_Answers201()
    {
        var user = await Env.CreateUserAsync();
        var keys = new List<JsonElement>();
        for (var i = 0; i < 9; i++)
        {
            keys.Add((await CreateAsync(user.Client, new { label = $"k{i}" })).Body);
        }

        var (full, _) = await CreateAsync(user.Client, new { label = "over the limit" });
        using var revoked = await user.Client.DeleteAsync($"{KeysPath}/{keys[0].Str("id")}");
        var (afterRevoke, _) = await CreateAsync(user.Client, new { label = "after a revoke" });
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(connection,
                "UPDATE api_keys SET valid_until = now() - interval '1 second' WHERE key_id = @id", new { id = keys[1].Str("id") });
        }

        var (afterExpiry, _) = await CreateAsync(user.Client, new { label = "after an expiry" });
        var (fullAgain, _) = await CreateAsync(user.Client, new { label = "over the limit again" });

        Assert.That(full.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(afterRevoke.StatusCode, Is.EqualTo(HttpStatusCode.Created), "a revoked key is not active");
        Assert.That(afterExpiry.StatusCode, Is.EqualTo(HttpStatusCode.Created), "an expired key is not active");
        Assert.That(fullAgain.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var validFor = DateTime.Parse(keys[2].Str("valid_until"), System.Globalization.CultureInfo.InvariantCulture)
                       - DateTime.Parse(keys[2].Str("created_at"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(validFor, Is.EqualTo(TimeSpan.FromDays(180)), "the default valid_days");
    }

    [Test]
    public async Task Revoke_TheCallingKey_RefusesItsNextRequestAtOnce()
    {
        var user = await Env.CreateUserAsync();
        var api = Env.StartApi(new Dictionary<string, string?> { ["Auth:KeyCacheDuration"] = "00:01:00" });
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", user.Key);
        Assert.That((await MessageJson.GetAsync(client, KeysPath)).Response.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        using var revoked = await client.DeleteAsync($"{KeysPath}/{user.KeyId}");
        var (after, error) = await MessageJson.GetAsync(client, KeysPath);

        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "even with a minute of key cache");
        Assert.That(error.Str("message"), Is.EqualTo("API key has been revoked"));
    }

    [TestCase("revoked_at", 401, "API key has been revoked")]
    [TestCase("disabled_at", 403, "This user or API key has been disabled by an operator")]
    public async Task Create_ByAKeyStoppedSinceThisApiVerifiedIt_IsRefusedAndMakesNoKey(string column, int status, string message)
    {
        // An Api trusts a key it verified for Auth:KeyCacheDuration. A key an operator stopped meanwhile (after a theft,
        // `admin key revoke --with-keys-it-made`) must not make another key in that window, which that revoke would miss.
        var user = await Env.CreateUserAsync();
        var api = Env.StartApi(new Dictionary<string, string?> { ["Auth:KeyCacheDuration"] = "00:01:00" });
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", user.Key);
        Assert.That((await MessageJson.GetAsync(client, KeysPath)).Response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync($"UPDATE api_keys SET {column} = now() WHERE key_id = @keyId", new { keyId = user.KeyId });
        }

        var (response, error) = await CreateAsync(client, new { label = "made after the theft" });

        Assert.That(((int)response.StatusCode, error.Str("message")), Is.EqualTo((status, message)));
        await using var check = await Env.Database.OpenConnectionAsync();
        Assert.That(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM api_keys WHERE user_id = @id", new { id = user.Id }),
            Is.EqualTo(1), "no key was made");
    }

    [Test]
    public async Task Revoke_AnotherKey_ListsItAsRevoked()
    {
        var user = await Env.CreateUserAsync();
        var (_, created) = await CreateAsync(user.Client, new { label = "old" });

        using var revoked = await user.Client.DeleteAsync($"{KeysPath}/{created.Str("id")}");
        var list = (await MessageJson.GetAsync(user.Client, KeysPath)).Body.GetProperty("data");
        var (refused, _) = await MessageJson.GetAsync(Env.Client(created.Str("key")), KeysPath);

        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(list.EnumerateArray().Single(k => k.Str("id") == created.Str("id")).Str("revoked_at"), Is.Not.Empty);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Revoke_WithAChunkedBodyOver64KiB_Answers413AndKeepsTheKey()
    {
        // The route takes no body, but SPEC §3 refuses one over 64 KiB on every agency route, sent chunked too.
        var user = await Env.CreateUserAsync();
        var (_, created) = await CreateAsync(user.Client, new { label = "kept" });
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"{KeysPath}/{created.Str("id")}")
        {
            Content = new StringContent(new string('x', 64 * 1024 + 1), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TransferEncodingChunked = true;

        using var revoke = await user.Client.SendAsync(request);
        var (stillWorks, _) = await MessageJson.GetAsync(Env.Client(created.Str("key")), KeysPath);

        Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That((await revoke.Content.ReadFromJsonAsync<JsonElement>()).Str("code"), Is.EqualTo("payload_too_large"));
        Assert.That(stillWorks.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the key was not revoked");
    }

    [TestCase("other")]
    [TestCase("unknown")]
    [TestCase("malformed")]
    public async Task Revoke_AKeyNotTheCallers_Answers404(string which)
    {
        var user = await Env.CreateUserAsync();
        var other = await Env.CreateUserAsync();
        var keyId = which switch { "other" => other.KeyId, "unknown" => "0123456789abcdef", _ => "not-a-key" };

        var (response, error) = await MessageJson.SendAsync(user.Client, new HttpRequestMessage(HttpMethod.Delete, $"{KeysPath}/{keyId}"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(error.Str("message"), Is.EqualTo($"API key with ID {keyId} not found."));
        Assert.That((await MessageJson.GetAsync(other.Client, KeysPath)).Response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    // A whole key pasted where its id belongs names no key; the answer must not carry its secret back (into a gateway's
    // or a client's logs of answers).
    [Test]
    public async Task Revoke_AWholeKeyInPlaceOfItsId_Answers404WithoutEchoingItsSecret()
    {
        var user = await Env.CreateUserAsync();

        var (response, error) = await MessageJson.SendAsync(user.Client, new HttpRequestMessage(HttpMethod.Delete, $"{KeysPath}/{user.Key}"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(error.Str("message"), Is.EqualTo($"API key with ID gsg_{user.KeyId}_… not found."));
        Assert.That((await MessageJson.GetAsync(user.Client, KeysPath)).Response.StatusCode, Is.EqualTo(HttpStatusCode.OK),
            "the key was not revoked");
    }

    [Test]
    public async Task TestKey_SeesAndManagesTestKeysOnly()
    {
        var user = await Env.CreateUserAsync();
        var (testKey, testKeyId) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");
        var client = Env.Client(testKey);

        var (live, liveError) = await CreateAsync(client, new { label = "x", type = "live" });
        var (created, createdKey) = await CreateAsync(client, new { label = "y" });
        var (nullType, nullTypeKey) = await CreateAsync(client, new { label = "z", type = (string?)null });
        var list = (await MessageJson.GetAsync(client, KeysPath)).Body.GetProperty("data");
        var (revokeLive, _) = await MessageJson.SendAsync(client, new HttpRequestMessage(HttpMethod.Delete, $"{KeysPath}/{user.KeyId}"));

        Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(liveError.Str("code"), Is.EqualTo("unauthorized"));
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(createdKey.Str("type"), Is.EqualTo("test"), "the type defaults to the calling key's");
        Assert.That(nullType.StatusCode, Is.EqualTo(HttpStatusCode.Created), "a null type is no type (the document says nullable)");
        Assert.That(nullTypeKey.Str("type"), Is.EqualTo("test"));
        Assert.That(list.EnumerateArray().Select(k => k.Str("id")),
            Is.EquivalentTo(new[] { testKeyId, createdKey.Str("id"), nullTypeKey.Str("id") }));
        Assert.That(revokeLive.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Send_WithLiveAndTestKeysOfOneUser_TakesFromSeparateBuckets()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1, burst: 2);
        var (testKey, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");
        const string body = """{"recipient":"91234567","template_id":3}""";
        for (var i = 0; i < 3; i++)
        {
            await MessageJson.PostRawAsync(user.Client, body);
        }

        var (test, _) = await MessageJson.PostRawAsync(Env.Client(testKey), body);

        Assert.That(test.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(test.Headers.GetValues("RateLimit-Remaining").Single(), Is.EqualTo("1"));
    }

    /// <summary>
    /// Revoked and expired keys pile up with every rotation: a list shows the newest 100 keys, and every active key
    /// however old, each once, newest first.
    /// </summary>
    [Test]
    public async Task List_AfterManyRotations_ShowsTheNewestHundredAndEveryActiveKey()
    {
        var user = await Env.CreateUserAsync();
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            // 150 rotations after the user's first key, each a second apart; the newest key is active, the others revoked.
            await Dapper.SqlMapper.ExecuteAsync(connection, """
                INSERT INTO api_keys (user_id, key_id, secret_hash, label, type, last_five, created_at, valid_until, revoked_at)
                SELECT @Id, 'rotated' || @Id || '_' || g, '\x00', 'rotation ' || g, 'live', '00000',
                       now() + g * interval '1 second', now() + interval '30 days',
                       CASE WHEN g < 150 THEN now() + g * interval '1 second' END
                FROM generate_series(1, 150) g
                """, new { user.Id });
        }

        var (response, list) = await MessageJson.GetAsync(user.Client, KeysPath);
        var keys = list.GetProperty("data").EnumerateArray().ToList();
        var created = keys.Select(k => DateTime.Parse(k.Str("created_at"), System.Globalization.CultureInfo.InvariantCulture)).ToList();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(keys.Select(k => k.Str("label")),
            Is.EqualTo(Enumerable.Range(51, 100).Reverse().Select(g => $"rotation {g}").Append("test")),
            "the newest 100, the newest of them active, and the user's first key, active and older than all of them");
        Assert.That(keys.Where(k => k.GetProperty("revoked_at").ValueKind == JsonValueKind.Null).Select(k => k.Str("label")),
            Is.EqualTo(new[] { "rotation 150", "test" }));
        Assert.That(created, Is.Ordered.Descending);
    }

    private static async Task<(HttpResponseMessage Response, JsonElement Body)> CreateAsync(HttpClient client, object body) =>
        await MessageJson.SendAsync(client, new HttpRequestMessage(HttpMethod.Post, KeysPath) { Content = JsonContent.Create(body) });
}
