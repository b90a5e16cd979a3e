using System.Net;
using Dapper;

namespace GovSg.Tests.Integration;

public sealed class AuthTests
{
    private const string Body = """{"recipient":"91234567","template_id":3}""";

    private static TestSystem Env => TestEnvironment.Current;

    [TestCase(null, "Missing API key: send the header 'Authorization: Bearer <api key>'")]
    [TestCase("Basic dXNlcjpwYXNz", "Authorization header must be 'Bearer <api key>'")]
    [TestCase("Bearer not-a-key", "Invalid API key")]
    [TestCase("Bearer gsg_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "Invalid API key")]
    public async Task Send_WhenTheKeyIsMissingMalformedOrUnknown_Answers401(string? authorization, string message)
    {
        using var client = Env.Client(null);
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new StringContent(Body, System.Text.Encoding.UTF8, "application/json"),
        };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        var (response, error) = await MessageJson.SendAsync(client, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        Assert.That(error.Str("code"), Is.EqualTo("unauthenticated"));
        Assert.That(error.Str("message"), Is.EqualTo(message));
    }

    [Test]
    public async Task Send_WhenTheSecretDoesNotMatchTheKeyId_Answers401()
    {
        var user = await Env.CreateUserAsync();
        var forged = user.Key[..^4] + (user.Key.EndsWith("0000", StringComparison.Ordinal) ? "1111" : "0000");

        var (response, error) = await MessageJson.PostRawAsync(Env.Client(forged), Body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(error.Str("message"), Is.EqualTo("Invalid API key"));
    }

    [Test]
    public async Task Send_WhenTheKeyIsRevoked_Answers401AndStoresNothing()
    {
        var user = await Env.CreateUserAsync();
        await ExecuteAsync("UPDATE api_keys SET revoked_at = now() WHERE key_id = @keyId", new { keyId = user.KeyId });

        var (response, error) = await MessageJson.PostRawAsync(user.Client, Body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(error.Str("message"), Is.EqualTo("API key has been revoked"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    [Test]
    public async Task Send_WhenTheKeyHasExpired_Answers401()
    {
        var user = await Env.CreateUserAsync();
        var (expired, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddMinutes(-1));

        var (response, error) = await MessageJson.PostRawAsync(Env.Client(expired), Body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(error.Str("message"), Is.EqualTo("API key has expired"));
    }

    [TestCase("UPDATE users SET disabled_at = now() WHERE id = @userId")]
    [TestCase("UPDATE api_keys SET disabled_at = now() WHERE key_id = @keyId")]
    public async Task Send_WhenAnOperatorDisabledTheUserOrKey_Answers403(string disable)
    {
        var user = await Env.CreateUserAsync();
        await ExecuteAsync(disable, new { userId = user.Id, keyId = user.KeyId });

        var (response, error) = await MessageJson.PostRawAsync(user.Client, Body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(error.Str("code"), Is.EqualTo("unauthorized"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    // SPEC §3: authentication answers first, before the transport checks, 405 among them (§3.1). Routing answers 404 and
    // 405 before any endpoint runs: without a key, they told a caller which paths and methods exist. With a key, the
    // same requests get 404 and 405 (SendValidationTests).
    [TestCase("PUT", "v1/transactional/govsg/send")]
    [TestCase("DELETE", "v1/transactional/govsg/1")]
    [TestCase("GET", "v1/nothing/here")]
    public async Task UnknownRouteOrMethod_WhenUnauthenticated_AnswersAuthenticationFirst(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        var (response, error) = await MessageJson.SendAsync(Env.Client(null), request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(error.Str("code"), Is.EqualTo("unauthenticated"));
    }

    // Meta's webhook route is not an agency route and takes no key: a method it does not take is 405 for anyone.
    [Test]
    public async Task WebhookRoute_WithAMethodItDoesNotTake_Answers405WithoutAKey()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "v1/callback/govsg");

        var (response, error) = await MessageJson.SendAsync(Env.Client(null), request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That(error.Str("code"), Is.EqualTo("method_not_allowed"));
    }

    [TestCase("application/json")]
    [TestCase("text/plain")]
    public async Task Send_WhenUnauthenticatedAndMalformed_AnswersAuthenticationFirst(string contentType)
    {
        var (response, error) = await MessageJson.PostRawAsync(Env.Client(null), "{not json", contentType);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(error.Str("code"), Is.EqualTo("unauthenticated"));
    }

    [Test]
    public async Task Send_WithAValidKey_RecordsWhenTheKeyWasLastUsed()
    {
        var user = await Env.CreateUserAsync();

        await MessageJson.PostRawAsync(user.Client, Body);

        await using var connection = await Env.Database.OpenConnectionAsync();
        var lastUsed = await connection.ExecuteScalarAsync<DateTime?>(
            "SELECT last_used_at FROM api_keys WHERE key_id = @keyId", new { keyId = user.KeyId });
        Assert.That(lastUsed, Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)));
    }

    private static async Task ExecuteAsync(string sql, object parameters)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, parameters);
    }
}
