using System.Net;
using System.Net.Http.Headers;
using Dapper;

namespace GovSg.Tests.Integration;

/// <summary>
/// The send path keeps keys and granted templates for a short time (5 s by default); a revocation bites within that
/// time, never later. Here the caches hold for one second.
/// </summary>
public sealed class CachingTests
{
    private const string Body = """{"recipient":"91234567","template_id":3}""";

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task RevokedGrant_IsHonouredWithinTheCacheDuration()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        using var client = CachingApi(user.Key);
        var (first, _) = await MessageJson.PostRawAsync(client, Body);

        await ExecuteAsync("DELETE FROM template_grants WHERE user_id = @id", user.Id);
        var refused = await Poll.UntilAsync(async () => (await MessageJson.PostRawAsync(client, Body)).Response,
            r => r.StatusCode == HttpStatusCode.NotFound, TimeSpan.FromSeconds(5));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task RevokedKey_IsHonouredWithinTheCacheDuration()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        using var client = CachingApi(user.Key);
        var (first, _) = await MessageJson.PostRawAsync(client, Body);

        await ExecuteAsync("UPDATE api_keys SET revoked_at = now() WHERE user_id = @id", user.Id);
        var refused = await Poll.UntilAsync(async () => (await MessageJson.PostRawAsync(client, Body)).Response,
            r => r.StatusCode == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    private static HttpClient CachingApi(string key)
    {
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["Auth:KeyCacheDuration"] = "00:00:01",
            ["Templates:CacheDuration"] = "00:00:01",
        });
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task ExecuteAsync(string sql, long id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, new { id });
    }
}
