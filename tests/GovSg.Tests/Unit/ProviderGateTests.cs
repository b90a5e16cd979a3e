using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

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
    public async Task SpacedAsync_WhenCallsWakeLateTogether_SpacesThemAtThePaceInsteadOfAtOnce()
    {
        var clock = new FakeTimeProvider(Now);
        var gate = Gate(clock);
        var interval = TimeSpan.FromMilliseconds(12.5);
        var slots = Enumerable.Range(0, 40).Select(i => Now + interval * i).ToList();
        gate.CallReturned();

        var onTime = new List<DateTime>();
        foreach (var slot in slots.Take(20))
        {
            clock.SetUtcNow(slot + TimeSpan.FromMilliseconds(1));
            onTime.Add(await gate.SpacedAsync(slot, interval));
        }

        // Held up for a second, the other 20 woke together: their slots had all passed.
        clock.Advance(TimeSpan.FromSeconds(1));
        var late = await Task.WhenAll(slots.Skip(20).Select(slot => gate.SpacedAsync(slot, interval)));

        Assert.That(onTime, Is.EqualTo(slots.Take(20).Select(slot => slot + TimeSpan.FromMilliseconds(1))),
            "a call on time is made at once, and a timer's lag does not add up");
        var now = clock.GetUtcNow().UtcDateTime;
        Assert.That(late, Is.EqualTo(Enumerable.Range(0, 20).Select(i => now + interval * i)));
    }

    [Test]
    public async Task SpacedAsync_TheFirstCallGoesAlone_TheOthersWhenItCameBack()
    {
        var gate = Gate();
        var interval = TimeSpan.FromMilliseconds(12.5);

        var first = gate.SpacedAsync(Now, interval);
        var others = Enumerable.Range(1, 5).Select(i => gate.SpacedAsync(Now, interval)).ToList();
        var waited = others.All(turn => !turn.IsCompleted);
        gate.CallReturned();

        Assert.That(first.IsCompleted, Is.True);
        Assert.That(waited, Is.True, "the first call's set-up would otherwise hold them all and release them together");
        // Released together, they take the turns one interval apart in whatever order their continuations run.
        Assert.That(await Task.WhenAll(others), Is.EquivalentTo(Enumerable.Range(1, 5).Select(i => Now + interval * i)));
    }

    [Test]
    public void Metrics_ReportWhileCredentialsAreRejected()
    {
        var gate = Gate();
        using var metrics = new DispatcherMetrics(gate: gate);

        var before = CredentialsGauge();
        gate.CredentialsRejected(Now, "190: token expired");
        var rejected = CredentialsGauge();
        gate.ProviderAccepted();

        Assert.That((before, rejected, CredentialsGauge()), Is.EqualTo((0, 1, 0)));
    }

    /// <summary>The largest value the credentials gauges of this process report: this test's, as no other rejects now.</summary>
    private static int CredentialsGauge() =>
        DispatcherGauges.Read<int>("govsg.provider.credentials_rejected").DefaultIfEmpty().Max();

    private static ProviderGate Gate(FakeTimeProvider? clock = null) => new(
        // The pace lives in PostgreSQL (PaceScheduleTests, ProviderPaceTests); these tests never reach it.
        new PaceStore(NpgsqlDataSource.Create("Host=unused"), Options.Create(new WhatsAppOptions()), TimeProvider.System),
        Options.Create(new WhatsAppOptions()),
        Options.Create(new RetryOptions()),
        clock ?? new FakeTimeProvider(Now),
        NullLogger<ProviderGate>.Instance);
}
