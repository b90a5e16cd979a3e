using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

public sealed class ProviderGateTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Test]
    public void CredentialsRejected_PausesSending_ThenDoublesThePauseWhileTheyStayBroken()
    {
        var gate = Gate();

        gate.CredentialsRejected(Now, "190: token expired");
        var firstPause = gate.PausedUntil(Now);
        gate.CredentialsRejected(Now.AddSeconds(1), "190: token expired");
        var stillFirst = gate.PausedUntil(Now.AddSeconds(1));
        gate.CredentialsRejected(Now.AddSeconds(16), "190: token expired");

        Assert.That(firstPause, Is.EqualTo(Now.AddSeconds(15)));
        Assert.That(stillFirst, Is.EqualTo(Now.AddSeconds(15)), "calls already in flight do not stretch the pause");
        Assert.That(gate.PausedUntil(Now.AddSeconds(16)), Is.EqualTo(Now.AddSeconds(46)));
        Assert.That(gate.PausedUntil(Now.AddSeconds(47)), Is.Null);
    }

    [Test]
    public async Task Health_IsUnhealthyWhileCredentialsAreRejected_AndHealthyOnceACallSucceeds()
    {
        var gate = Gate();
        var context = new HealthCheckContext
        {
            Registration = new HealthCheckRegistration("provider", gate, HealthStatus.Unhealthy, null),
        };

        gate.CredentialsRejected(Now, "190: token expired");
        var broken = await gate.CheckHealthAsync(context);
        gate.ProviderAccepted();
        var healed = await gate.CheckHealthAsync(context);

        Assert.That(broken.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(broken.Description, Does.Contain(ProviderErrors.Redact("190: token expired")));
        Assert.That(healed.Status, Is.EqualTo(HealthStatus.Healthy));
        gate.CredentialsRejected(Now.AddMinutes(10), "190");
        Assert.That(gate.PausedUntil(Now.AddMinutes(10)), Is.EqualTo(Now.AddMinutes(10).AddSeconds(15)), "the pause starts over");
    }

    [Test]
    public async Task Health_WhenCredentialsAreRejected_ShowsTheCodeAndAFingerprint_NeverTheProviderText()
    {
        var gate = Gate();
        var context = new HealthCheckContext
        {
            Registration = new HealthCheckRegistration("provider", gate, HealthStatus.Unhealthy, null),
        };

        gate.CredentialsRejected(Now, "190: Session invalid for +6591234567 (Stanley Nguyen)");
        var broken = await gate.CheckHealthAsync(context);

        Assert.That(broken.Description, Does.Contain("code 190, text "));
        Assert.That(broken.Description, Does.Not.Contain("6591234567").And.Not.Contain("Stanley"));
    }

    [Test]
    public void ThroughputExceeded_HalvesThePace_AndSetShareScalesIt()
    {
        var gate = Gate(messagesPerSecond: 80);

        gate.ThroughputExceeded();
        var halved = gate.CurrentRate;
        gate.SetShare(40);

        Assert.That(halved, Is.EqualTo(40));
        Assert.That(gate.CurrentRate, Is.EqualTo(20), "still halved, now of the smaller share");
    }

    [Test]
    public void ThroughputExceeded_ThePaceRecoversATenthOfTheShareEveryFiveSeconds()
    {
        var clock = new FakeTimeProvider(Now);
        var gate = Gate(messagesPerSecond: 80, clock);
        gate.ThroughputExceeded();

        clock.Advance(TimeSpan.FromSeconds(4.9));
        gate.ReserveSlot();
        var tooSoon = gate.CurrentRate;
        clock.Advance(TimeSpan.FromSeconds(0.1));
        gate.ReserveSlot();
        var oneStep = gate.CurrentRate;
        for (var step = 0; step < 10; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            gate.ReserveSlot();
        }

        Assert.That(tooSoon, Is.EqualTo(40));
        Assert.That(oneStep, Is.EqualTo(48));
        Assert.That(gate.CurrentRate, Is.EqualTo(80), "never above the share");
    }

    [Test]
    public void ReserveSlot_HoldsCallsToTheRateAfterAOneSecondBurst()
    {
        var gate = Gate(messagesPerSecond: 50, new FakeTimeProvider(Now));

        var waits = Enumerable.Range(0, 100).Select(_ => gate.ReserveSlot()).ToList();

        // The clock stands still: 51 go at once (a second's burst and the slot due now), the rest 20 ms apart.
        Assert.That(waits.Take(51), Is.All.EqualTo(TimeSpan.Zero));
        Assert.That(waits[51], Is.EqualTo(TimeSpan.FromMilliseconds(20)));
        Assert.That(waits[99], Is.EqualTo(TimeSpan.FromMilliseconds(980)));
    }

    [Test]
    public void ReserveSlot_AfterTheClockCaughtUp_HasNoWait()
    {
        var clock = new FakeTimeProvider(Now);
        var gate = Gate(messagesPerSecond: 50, clock);
        for (var i = 0; i < 100; i++)
        {
            gate.ReserveSlot();
        }

        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.That(gate.ReserveSlot(), Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void ReturnSlots_LetsTheNextCallsHaveTheSlotsThatWentUnused()
    {
        var gate = Gate(messagesPerSecond: 50, new FakeTimeProvider(Now));
        for (var i = 0; i < 100; i++)
        {
            gate.ReserveSlot();
        }

        gate.ReturnSlots(50);

        Assert.That(gate.ReserveSlot(), Is.EqualTo(TimeSpan.Zero), "without the return it would be 1 s away");
    }

    private static ProviderGate Gate(int messagesPerSecond = 80, TimeProvider? time = null) => new(
        Options.Create(new WhatsAppOptions { MessagesPerSecond = messagesPerSecond }),
        Options.Create(new RetryOptions()),
        time ?? new FakeTimeProvider(Now));
}
