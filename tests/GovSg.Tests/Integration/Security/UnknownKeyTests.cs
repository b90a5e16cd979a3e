using System.Net;
using System.Security.Cryptography;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// An attacker replaying a made-up key must not cost a database lookup per request (SPEC §7). Proven from outside:
/// once the key id has been refused, the keys table is locked, and the Api must still refuse the key at once.
/// </summary>
[NonParallelizable]
public sealed class UnknownKeyTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task UnknownKeyId_RefusedOnce_IsRefusedAgainWithoutTheDatabase()
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        using var client = Env.Client($"gsg_{keyId}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}");
        var (first, _) = await MessageJson.GetAsync(client, "v1/govsg/templates");

        await using var connection = await Env.Database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        var replays = Task.WhenAll(Enumerable.Range(0, 20).Select(_ => MessageJson.GetAsync(client, "v1/govsg/templates")));
        var answeredInTime = await Task.WhenAny(replays, Task.Delay(TimeSpan.FromSeconds(3))) == replays;
        await transaction.RollbackAsync();

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(answeredInTime, Is.True, "a replayed unknown key waited for the locked keys table");
        Assert.That((await replays).Select(r => r.Response.StatusCode), Is.All.EqualTo(HttpStatusCode.Unauthorized));
    }
}
