using GovSg.Dispatcher.Sending;

namespace GovSg.Tests.Unit;

public sealed class ClockOffsetTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Test]
    public void Reading_TheDatabasesClockLessTheMiddleOfTheRoundTrip()
    {
        var reading = new ClockReading(TimeSpan.FromMilliseconds(80), Now.AddSeconds(5), Now.AddMilliseconds(80));

        Assert.That(reading.Offset, Is.EqualTo(TimeSpan.FromMilliseconds(4_960)));
        Assert.That(reading.Error, Is.EqualTo(TimeSpan.FromMilliseconds(40)));
    }

    [Test]
    public void Observe_UsesTheReadingOfTheShortestRecentRoundTrip()
    {
        var offset = new ClockOffset();

        // A reply held up on its way back (a busy thread pool) puts the slow reading's estimate 39.5 ms low, within its
        // error of 40 ms; the quick reading is right to within half a millisecond.
        offset.Observe(Reading(Now, roundTrip: 1, offset: 5_000));
        var quick = offset.Value;
        offset.Observe(Reading(Now.AddSeconds(1), roundTrip: 80, offset: 4_960.5));

        Assert.That(quick, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(offset.Value, Is.EqualTo(TimeSpan.FromSeconds(5)), "the slow reading is not used");
    }

    [Test]
    public void Observe_ForgetsTheReadingsOlderThanTheWindowOrMaxAge()
    {
        var windowed = new ClockOffset();
        windowed.Observe(Reading(Now, roundTrip: 1, offset: 5_000));
        foreach (var i in Enumerable.Range(1, ClockOffset.Window))
        {
            windowed.Observe(Reading(Now.AddSeconds(i), roundTrip: 4, offset: 5_001));
        }

        var aged = new ClockOffset();
        aged.Observe(Reading(Now, roundTrip: 1, offset: 5_000));
        aged.Observe(Reading(Now + ClockOffset.MaxAge, roundTrip: 4, offset: 5_001));

        Assert.That(windowed.Value, Is.EqualTo(TimeSpan.FromMilliseconds(5_001)));
        Assert.That(aged.Value, Is.EqualTo(TimeSpan.FromMilliseconds(5_001)));
    }

    [Test]
    public void Observe_AReadingThatCannotAgreeWithTheOneUsed_StartsAfresh()
    {
        var offset = new ClockOffset();
        offset.Observe(Reading(Now, roundTrip: 1, offset: 5_000));

        // One of the clocks was stepped by 8 s: the quick reading from before must not outlive it by a window.
        offset.Observe(Reading(Now.AddSeconds(1), roundTrip: 4, offset: -3_000));

        Assert.That(offset.Value, Is.EqualTo(TimeSpan.FromSeconds(-3)));
    }

    [Test]
    public void Observe_AReadingThatAgreesWithinBothErrorsTogether_KeepsTheQuickerOne()
    {
        var offset = new ClockOffset();
        offset.Observe(Reading(Now, roundTrip: 10, offset: 5_000));

        // 15 ms apart, and each is right to within half its round trip (5 ms and 10 ms): both can be true at once.
        offset.Observe(Reading(Now.AddSeconds(1), roundTrip: 20, offset: 5_015));

        Assert.That(offset.Value, Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public void IsKnown_OnlyWithAReadingYoungerThanMaxAge()
    {
        var offset = new ClockOffset();
        var before = offset.IsKnown(Now);
        offset.Observe(Reading(Now, roundTrip: 1, offset: 0));

        Assert.That(before, Is.False);
        Assert.That(offset.IsKnown(Now + ClockOffset.MaxAge - TimeSpan.FromMilliseconds(1)), Is.True);
        Assert.That(offset.IsKnown(Now + ClockOffset.MaxAge), Is.False);
    }

    /// <summary>A reading that came back at <paramref name="received"/> and puts the database's clock <paramref name="offset"/> ms ahead.</summary>
    private static ClockReading Reading(DateTime received, double roundTrip, double offset) => new(
        TimeSpan.FromMilliseconds(roundTrip), received - TimeSpan.FromMilliseconds(roundTrip / 2) + TimeSpan.FromMilliseconds(offset),
        received);
}
