using Dapper;
using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Integration.Security;

/// <summary>The Dispatcher's list of disabled users, which a call long after its claim asks (SPEC §7).</summary>
public sealed class DisabledUsersTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task IsDisabled_AnswersFromAListReadAtMostASecondBefore()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var users = new DisabledUsers(Env.Database, time, NullLogger<DisabledUsers>.Instance);
        var user = await Env.CreateUserAsync();

        var before = await users.IsDisabledAsync(user.Id, CancellationToken.None);
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE users SET disabled_at = now() WHERE id = @Id", new { user.Id });
        }

        time.Advance(DisabledUsers.MaxAge - TimeSpan.FromMilliseconds(100));
        var withinTheAge = await users.IsDisabledAsync(user.Id, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(200));
        var pastIt = await users.IsDisabledAsync(user.Id, CancellationToken.None);

        Assert.That((before, withinTheAge, pastIt), Is.EqualTo((false, false, true)),
            "one read serves its age, and the next call past it reads again");
    }
}
