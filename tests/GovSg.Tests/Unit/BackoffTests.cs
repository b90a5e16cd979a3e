using GovSg.Dispatcher.Sending;

namespace GovSg.Tests.Unit;

public sealed class RetryOptionsTests
{
    private static readonly RetryOptions Defaults = new();

    [TestCase(1, 1)]
    [TestCase(2, 2)]
    [TestCase(5, 16)]
    [TestCase(9, 256)]
    [TestCase(10, 300)]
    [TestCase(50, 300)]
    public void Backoff_AtTheTopOfTheJitterRange_DoublesFromOneSecondUpToFiveMinutes(int attempt, double seconds) =>
        Assert.That(Defaults.Backoff(attempt, 1.0), Is.EqualTo(TimeSpan.FromSeconds(seconds)));

    [Test]
    public void Backoff_IsFullJitter_FromZeroToTheCeiling()
    {
        Assert.That(Defaults.Backoff(4, 0.0), Is.EqualTo(TimeSpan.Zero));
        Assert.That(Defaults.Backoff(4, 0.5), Is.EqualTo(TimeSpan.FromSeconds(4)));
    }
}
