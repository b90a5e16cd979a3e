using Dapper;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration;

/// <summary>
/// The claim is the last word before a provider call (SPEC §5): what it refuses is never sent, whichever command, retry
/// or sweep brings the message to it. Each case claims a refused message beside a valid one, the control.
/// </summary>
public sealed class SendClaimTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Claim_OfAMessagePastItsValidity_TakesNothing()
    {
        // SPEC §4: a message not accepted within its validity ends ERROR expired, never sent late by surprise, even when a
        // command reaches a Dispatcher before the sweep has expired it.
        var ids = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(2);
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE messages SET expires_at = now() - interval '1 second' WHERE id = @id", new { id = ids[0] });

        var claimed = await ClaimAsync(ids);

        Assert.That(claimed, Is.EqualTo(new[] { ids[1] }));
        Assert.That(await AttemptsAsync(connection, ids[0]), Is.Zero);
    }

    [Test]
    public async Task Claim_OfADisabledUsersMessage_TakesNothing()
    {
        // SPEC §7: no Dispatcher sends a message of a disabled user (a stolen key's messages stay unsent), whenever its
        // command comes.
        var ids = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(1);
        var others = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(1);
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "UPDATE users SET disabled_at = now() WHERE id = (SELECT user_id FROM messages WHERE id = @id)", new { id = ids[0] });

        var claimed = await ClaimAsync([ids[0], others[0]]);

        Assert.That(claimed, Is.EqualTo(new[] { others[0] }));
        Assert.That(await AttemptsAsync(connection, ids[0]), Is.Zero);
    }

    /// <summary>
    /// Claims the messages as a Dispatcher would, then hands the claimed ones back as a failed try would, so that no
    /// sweep later finds their claims lapsed and calls the provider for them.
    /// </summary>
    private static async Task<long[]> ClaimAsync(long[] ids)
    {
        var now = DateTime.UtcNow;
        var claimed = (await new SendStore(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions()))
            .ClaimAsync(ids, now, now.AddMinutes(1), CancellationToken.None)).Select(c => c.Id).ToArray();
        await EndUncalledAsync(claimed);
        return claimed;
    }

    /// <summary>Ends messages a test claimed without calling the provider, so that no sweep later calls it for them.</summary>
    internal static async Task EndUncalledAsync(long[] ids)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "UPDATE messages SET status = 'ERROR', error_code = 'cancelled', call_open = false WHERE id = ANY(@ids)", new { ids });
    }

    private static Task<int> AttemptsAsync(Npgsql.NpgsqlConnection connection, long id) =>
        connection.ExecuteScalarAsync<int>("SELECT attempts FROM messages WHERE id = @id", new { id });
}
