using System.Diagnostics;
using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

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
        Assert.That(broken.Description, Does.Contain("190: token expired"));
        Assert.That(healed.Status, Is.EqualTo(HealthStatus.Healthy));
        gate.CredentialsRejected(Now.AddMinutes(10), "190");
        Assert.That(gate.PausedUntil(Now.AddMinutes(10)), Is.EqualTo(Now.AddMinutes(10).AddSeconds(15)), "the pause starts over");
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
    public void ReserveSlot_HoldsCallsToTheRateAfterAOneSecondBurst()
    {
        var gate = Gate(messagesPerSecond: 50);

        var waits = Enumerable.Range(0, 100).Select(_ => gate.ReserveSlot()).ToList();

        // 50 go at once (the burst), the next 50 are spaced 20 ms apart.
        Assert.That(waits.Take(50), Is.All.EqualTo(TimeSpan.Zero));
        Assert.That(waits[50], Is.InRange(TimeSpan.Zero, TimeSpan.FromMilliseconds(40)));
        Assert.That(waits[99], Is.InRange(TimeSpan.FromSeconds(0.95), TimeSpan.FromSeconds(1.05)));
    }

    [Test]
    public void ReturnSlots_LetsTheNextCallsHaveTheSlotsThatWentUnused()
    {
        var gate = Gate(messagesPerSecond: 50);
        for (var i = 0; i < 100; i++)
        {
            gate.ReserveSlot();
        }

        gate.ReturnSlots(50);

        Assert.That(gate.ReserveSlot(), Is.LessThan(TimeSpan.FromMilliseconds(40)), "without the return it would be 1 s away");
    }

    private static ProviderGate Gate(int messagesPerSecond = 80) => new(
        Options.Create(new WhatsAppOptions { MessagesPerSecond = messagesPerSecond }),
        Options.Create(new RetryOptions()),
        TimeProvider.System);
}
