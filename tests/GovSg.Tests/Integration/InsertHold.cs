using System.Net.Http.Headers;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace GovSg.Tests.Integration;

/// <summary>
/// Keeps some users' message inserts from committing until released, as if their requests were still storing: a trigger
/// on <c>messages</c> waits on an advisory lock of the user's id, which this holds. A lock on the whole table would hold
/// other statements on it as well (a duplicate's own look at its key, say).
/// </summary>
public sealed class InsertHold : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly long[] _userIds;

    private InsertHold(NpgsqlConnection connection, long[] userIds) => (_connection, _userIds) = (connection, userIds);

    public static async Task<InsertHold> StartAsync(NpgsqlDataSource database, params long[] userIds)
    {
        var connection = await database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            CREATE OR REPLACE FUNCTION test_wait_for_advisory_lock() RETURNS trigger LANGUAGE plpgsql AS
            'BEGIN PERFORM pg_advisory_xact_lock_shared(NEW.user_id); RETURN NULL; END'
            """);
        foreach (var id in userIds)
        {
            await connection.ExecuteAsync("SELECT pg_advisory_lock(@id)", new { id });
            await connection.ExecuteAsync($"""
                CREATE TRIGGER hold_user_{id} AFTER INSERT ON messages FOR EACH ROW WHEN (NEW.user_id = {id})
                    EXECUTE FUNCTION test_wait_for_advisory_lock()
                """);
        }

        return new InsertHold(connection, userIds);
    }

    /// <summary>
    /// A request sent on the test's Api and <paramref name="duplicate"/> (by default the same request) on another, sent
    /// while the first is storing: the user's message rows are inserted (the key taken, the tokens spent) but not
    /// committed until the duplicate has had its chance.
    /// </summary>
    public static async Task<((HttpResponseMessage, JsonElement) First, (HttpResponseMessage, JsonElement) Duplicate)>
        OnTwoApisWhileTheFirstStoresAsync(TestSystem env, TestUser user, Func<TestUser, Task<(HttpResponseMessage, JsonElement)>> post,
            Func<TestUser, Task<(HttpResponseMessage, JsonElement)>>? duplicate = null)
    {
        var other = env.StartApi(new Dictionary<string, string?>()).CreateClient();
        other.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.Key);
        await using var hold = await StartAsync(env.Database, user.Id);
        var first = post(user);
        var waiting = await env.StatementsWaitingOnALockAsync("INSERT INTO messages");
        Assert.That(waiting, Is.GreaterThan(0), "the first has inserted its messages and waits to commit");
        var second = (duplicate ?? post)(user with { Client = other });
        await Task.WhenAny(second, Task.Delay(TimeSpan.FromSeconds(2)));
        await hold.ReleaseAsync();
        return (await first, await second);
    }

    /// <summary>Lets the held inserts commit.</summary>
    public Task ReleaseAsync() => _connection.ExecuteAsync("SELECT pg_advisory_unlock_all()");

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        foreach (var id in _userIds)
        {
            await _connection.ExecuteAsync($"DROP TRIGGER hold_user_{id} ON messages");
        }

        await _connection.DisposeAsync();
    }
}
