using System.Net;
using System.Security.Cryptography;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// An attacker replaying a made-up key, or guessing the secret of a real key id, must not cost a database lookup per
/// request (SPEC §7). Proven from outside: once the key has been refused, the keys table is locked, and the Api must
/// still refuse the key at once.
/// </summary>
[NonParallelizable]
public sealed class UnknownKeyTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task UnknownKeyId_RefusedOnce_IsRefusedAgainWithoutTheDatabase()
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        using var client = Env.Client($"gsg_{keyId}_{RandomSecret()}");

        var (first, replays, answeredInTime) = await RefuseThenReplayWithKeysLockedAsync(client);

        Assert.That(first, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(answeredInTime, Is.True, "a replayed unknown key waited for the locked keys table");
        Assert.That(replays, Is.All.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task KnownKeyIdWithAWrongSecret_RefusedOnce_IsRefusedAgainWithoutTheDatabase_WhileTheRightSecretWorks()
    {
        var user = await Env.CreateUserAsync();
        using var wrong = Env.Client($"gsg_{user.KeyId}_{RandomSecret()}");

        var (first, replays, answeredInTime) = await RefuseThenReplayWithKeysLockedAsync(wrong);
        var (right, _) = await MessageJson.GetAsync(user.Client, "v1/govsg/templates");

        Assert.That(first, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(answeredInTime, Is.True, "a wrong secret for a known key id waited for the locked keys table");
        Assert.That(replays, Is.All.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the right secret is still accepted");
    }

    // Made-up key ids are free to invent, each one new to the refused-id cache: their look-ups share statements, so a
    // flood of them holds a few of the Api's connections, not the whole pool that sends need.
    [Test]
    public async Task ManyMadeUpKeyIdsAtOnce_ShareTheirLookups()
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        var clients = Enumerable.Range(0, 40)
            .Select(_ => Env.Client($"gsg_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}_{RandomSecret()}")).ToList();
        var answers = Task.WhenAll(clients.Select(client => MessageJson.GetAsync(client, "v1/govsg/templates")));
        await Env.StatementsWaitingOnALockAsync("FROM api_keys k");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var lookups = await Env.StatementsWaitingOnALockAsync("FROM api_keys k");
        await transaction.RollbackAsync();

        Assert.That(lookups, Is.InRange(1, 2), "statements looking up the 40 made-up key ids at once");
        Assert.That((await answers).Select(a => a.Response.StatusCode), Is.All.EqualTo(HttpStatusCode.Unauthorized));
        clients.ForEach(client => client.Dispose());
    }

    private static string RandomSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// One request with the key, then 20 more while the keys table is locked: if any of them asks the database, they
    /// do not all answer within 15 s (the lock's hold).
    /// </summary>
    private static async Task<(HttpStatusCode First, HttpStatusCode[] Replays, bool AnsweredInTime)>
        RefuseThenReplayWithKeysLockedAsync(HttpClient client)
    {
        var (first, _) = await MessageJson.GetAsync(client, "v1/govsg/templates");

        await using var connection = await Env.Database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        var replays = Task.WhenAll(Enumerable.Range(0, 20).Select(_ => MessageJson.GetAsync(client, "v1/govsg/templates")));
        var answeredInTime = await Task.WhenAny(replays, Task.Delay(TimeSpan.FromSeconds(15))) == replays;
        await transaction.RollbackAsync();

        return (first.StatusCode, (await replays).Select(r => r.Response.StatusCode).ToArray(), answeredInTime);
    }
}
