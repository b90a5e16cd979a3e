using GovSg.Dispatcher.Sending;

namespace GovSg.Tests.Unit;

public sealed class BackoffTests
{
    private static readonly RetryOptions Defaults = new();

    [TestCase(1, 1)]
    [TestCase(2, 2)]
    [TestCase(5, 16)]
    [TestCase(9, 256)]
    [TestCase(10, 300)]
    [TestCase(50, 300)]
    public void FullJitter_AtTheTopOfItsRange_DoublesFromTheFirstDelayUpToTheMax(int attempt, double seconds) =>
        Assert.That(Backoff.FullJitter(Defaults.FirstDelay, Defaults.MaxDelay, attempt, 1.0),
            Is.EqualTo(TimeSpan.FromSeconds(seconds)));

    [Test]
    public void FullJitter_SpreadsFromZeroToTheCeiling()
    {
        Assert.That(Backoff.FullJitter(Defaults.FirstDelay, Defaults.MaxDelay, 4, 0.0), Is.EqualTo(TimeSpan.Zero));
        Assert.That(Backoff.FullJitter(Defaults.FirstDelay, Defaults.MaxDelay, 4, 0.5), Is.EqualTo(TimeSpan.FromSeconds(4)));
    }

    [TestCase(0, 200)]
    [TestCase(1, 200)]
    [TestCase(3, 800)]
    [TestCase(1_000, 5_000)]
    public void Exponential_DoublesFromTheFirstAttemptAndStopsAtTheMax(int attempt, int milliseconds) =>
        Assert.That(Backoff.Exponential(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), attempt),
            Is.EqualTo(TimeSpan.FromMilliseconds(milliseconds)));
}
