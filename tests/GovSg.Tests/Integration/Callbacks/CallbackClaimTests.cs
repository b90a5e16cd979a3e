using GovSg.Dispatcher.Callbacks;

namespace GovSg.Tests.Integration.Callbacks;

/// <summary>How a Dispatcher shares its delivery slots between users.</summary>
public sealed class CallbackClaimTests
{
    private static TestSystem Env => TestEnvironment.Current;

    /// <summary>
    /// When a claim has fewer slots than users have due events, the events that have waited longest go first, whoever
    /// they belong to: a user whose settings row comes first in the table must not take every slot, round after round,
    /// while another user's older events wait.
    /// </summary>
    [Test]
    public async Task Claim_WithFewerSlotsThanDueEvents_TakesTheLongestWaitingAcrossUsers()
    {
        // Days ahead, so the running Dispatcher never finds these due; other tests' events lie more than the budget (a
        // day) before these, so this test's claims cannot take them.
        var t0 = DateTime.UtcNow.AddDays(5);
        var first = await Env.CreateUserAsync();
        var second = await Env.CreateUserAsync();
        var firstEvents = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            firstEvents.Add(i == 0
                ? await CallbackRaceTests.PausedEventAsync(first.Id, t0.AddSeconds(10))
                : await CallbackRaceTests.EventAsync(first.Id, t0.AddSeconds(10 + i)));
        }

        var oldest = await CallbackRaceTests.PausedEventAsync(second.Id, t0);
        var store = new CallbackStore(Env.Database);
        var now = t0.AddMinutes(1);
        var lease = new CallbackOptions().Lease;

        async Task<List<long>> ClaimAsync(int slots) =>
            (await store.ClaimAsync(new Dictionary<long, int>(), now, now - new CallbackOptions().Budget, now + lease, 8, 5,
                slots, CancellationToken.None)).Select(c => c.Id).ToList();

        var one = await ClaimAsync(1);
        var rest = await ClaimAsync(10);

        Assert.That(one, Is.EqualTo(new[] { oldest }), "the one slot goes to the event that has waited longest");
        Assert.That(rest, Is.EquivalentTo(firstEvents));
    }
}
