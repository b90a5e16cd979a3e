using Dapper;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration;

/// <summary>
/// SPEC §5: "the 15-minute budget counts from the first attempt". An attempt our own credentials spoiled is kept for
/// later without counting (SPEC §5: "don't burn agencies' messages"), but it gives no message a fresh budget either.
/// </summary>
public sealed class RetryBudgetTests
{
    private static TestSystem Env => TestEnvironment.Current;

    private readonly SendStore _store = new(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions()));
    private long _id;

    [SetUp]
    public async Task StoreAsync() => _id = (await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(1))[0];

    [Test]
    public async Task Defer_OfAMessageAlreadyRetrying_KeepsItsBudgetsStart()
    {
        // Retried an hour from now, out of the sweeps' reach meanwhile; the second claim runs on a clock an hour on.
        var firstTry = await ClaimAsync(DateTime.UtcNow);
        var retryAt = firstTry.FirstAttemptAt.AddHours(1);
        await _store.RetryAsync(_id, firstTry.Attempts, retryAt, "131000: Something went wrong", CancellationToken.None);

        var secondTry = await ClaimAsync(retryAt);
        var deferred = await DeferAsync(secondTry);

        Assert.That(deferred, Is.True);
        Assert.That(secondTry.FirstAttemptAt, Is.EqualTo(firstTry.FirstAttemptAt));
        Assert.That(await FirstAttemptAtAsync(), Is.EqualTo(firstTry.FirstAttemptAt).Within(TimeSpan.FromMilliseconds(1)),
            "a pause of our own gave the message a fresh budget");
    }

    [Test]
    public async Task Defer_OfAFirstAttempt_LeavesTheBudgetToStartWithTheNextClaim()
    {
        var deferred = await DeferAsync(await ClaimAsync(DateTime.UtcNow));

        Assert.That(deferred, Is.True);
        Assert.That(await FirstAttemptAtAsync(), Is.Null, "the attempt our credentials spoiled started the budget");
    }

    [TearDown]
    public Task EndMessageAsync() => SendClaimTests.EndUncalledAsync([_id]);

    private async Task<ClaimedMessage> ClaimAsync(DateTime now) =>
        (await _store.ClaimAsync([_id], now, now.AddMinutes(1), CancellationToken.None)).Single();

    private Task<bool> DeferAsync(ClaimedMessage message) =>
        _store.DeferAsync(message.Id, message.Attempts, DateTime.UtcNow.AddHours(2), "190: Token expired", called: true,
            CancellationToken.None);

    private async Task<DateTime?> FirstAttemptAtAsync()
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<DateTime?>("SELECT first_attempt_at FROM messages WHERE id = @id", new { id = _id });
    }
}
