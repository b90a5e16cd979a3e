using GovSg.Dispatcher.Sending;

namespace GovSg.Tests.Unit;

public sealed class ClockOffsetTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Test]
    public void Observe_UsesTheEstimateOfTheShortestRecentRoundTrip()
    {
        var offset = new ClockOffset();

        // The database runs 5 s ahead. A reply held up on its way back (a busy thread pool) makes that read's estimate
        // too low by half the delay; the quick read's is right to within its half a millisecond.
        Observe(offset, Now, roundTrip: 1, remoteAfter: 0.5, lead: 5);
        var quick = offset.Value;
        Observe(offset, Now.AddSeconds(1), roundTrip: 80, remoteAfter: 0.5, lead: 5);

        Assert.That(quick, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(offset.Value, Is.EqualTo(TimeSpan.FromSeconds(5)), "the slow read's 4.96 s is not used");
    }

    [Test]
    public void Observe_ForgetsTheEstimatesOlderThanTheWindowOrMaxAge()
    {
        var offset = new ClockOffset();
        Observe(offset, Now, roundTrip: 1, remoteAfter: 0.5, lead: 5);

        // The clocks moved apart since (a step of either): the quick old estimate must not outlive them for good.
        foreach (var i in Enumerable.Range(1, ClockOffset.Window))
        {
            Observe(offset, Now.AddSeconds(i), roundTrip: 4, remoteAfter: 2, lead: -3);
        }

        var afterWindow = offset.Value;
        var fresh = new ClockOffset();
        Observe(fresh, Now, roundTrip: 1, remoteAfter: 0.5, lead: 5);
        Observe(fresh, Now + ClockOffset.MaxAge, roundTrip: 4, remoteAfter: 2, lead: -3);

        Assert.That(afterWindow, Is.EqualTo(TimeSpan.FromSeconds(-3)));
        Assert.That(fresh.Value, Is.EqualTo(TimeSpan.FromSeconds(-3)));
    }

    [Test]
    public void IsKnown_OnlyWithAnEstimateYoungerThanMaxAge()
    {
        var offset = new ClockOffset();
        var before = offset.IsKnown(Now);
        Observe(offset, Now, roundTrip: 1, remoteAfter: 0.5, lead: 0);

        Assert.That(before, Is.False);
        Assert.That(offset.Value, Is.EqualTo(TimeSpan.Zero));
        Assert.That(offset.IsKnown(Now + ClockOffset.MaxAge - TimeSpan.FromMilliseconds(2)), Is.True);
        Assert.That(offset.IsKnown(Now + ClockOffset.MaxAge + TimeSpan.FromMilliseconds(1)), Is.False);
    }

    /// <summary>
    /// A read sent at <paramref name="sent"/> that took <paramref name="roundTrip"/> ms and found the database's clock,
    /// <paramref name="lead"/> s ahead, <paramref name="remoteAfter"/> ms into it.
    /// </summary>
    private static void Observe(ClockOffset offset, DateTime sent, double roundTrip, double remoteAfter, double lead) =>
        offset.Observe(sent, sent.AddMilliseconds(remoteAfter).AddSeconds(lead), sent.AddMilliseconds(roundTrip));
}
