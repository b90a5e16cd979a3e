using System.Net;
using System.Net.Http.Headers;
using Dapper;

namespace GovSg.Tests.Integration;

/// <summary>
/// The send path keeps keys and granted templates for a short time (5 s by default); a revocation bites within that
/// time, never later. Each test shows both halves: right after the revocation the cached answer still serves (so the
/// cache exists), and once the cache duration has passed the revocation bites (so entries lapse).
/// </summary>
public sealed class CachingTests
{
    private const string Body = """{"recipient":"91234567","template_id":3}""";

    /// <summary>Long enough that the request right after a revocation comes well within it on a busy machine.</summary>
    private static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(3);

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task RevokedGrant_IsHonouredWithinTheCacheDuration()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        using var client = CachingApi(user.Key);
        var (first, _) = await MessageJson.PostRawAsync(client, Body);

        await ExecuteAsync("DELETE FROM template_grants WHERE user_id = @id", user.Id);
        var (cached, _) = await MessageJson.PostRawAsync(client, Body);
        var refused = await Poll.UntilAsync(async () => (await MessageJson.PostRawAsync(client, Body)).Response,
            r => r.StatusCode == HttpStatusCode.NotFound, CacheDuration + TimeSpan.FromSeconds(2));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(cached.StatusCode, Is.EqualTo(HttpStatusCode.Created), "served from the cache right after the revocation");
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "refused once the cache duration has passed");
    }

    [Test]
    public async Task RevokedKey_IsHonouredWithinTheCacheDuration()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        using var client = CachingApi(user.Key);
        var (first, _) = await MessageJson.PostRawAsync(client, Body);

        await ExecuteAsync("UPDATE api_keys SET revoked_at = now() WHERE user_id = @id", user.Id);
        var (cached, _) = await MessageJson.PostRawAsync(client, Body);
        var refused = await Poll.UntilAsync(async () => (await MessageJson.PostRawAsync(client, Body)).Response,
            r => r.StatusCode == HttpStatusCode.Unauthorized, CacheDuration + TimeSpan.FromSeconds(2));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(cached.StatusCode, Is.EqualTo(HttpStatusCode.Created), "served from the cache right after the revocation");
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "refused once the cache duration has passed");
    }

    private static HttpClient CachingApi(string key)
    {
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["Auth:KeyCacheDuration"] = CacheDuration.ToString(),
            ["Templates:CacheDuration"] = CacheDuration.ToString(),
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
