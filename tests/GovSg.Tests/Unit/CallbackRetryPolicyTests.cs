using System.Text;
using GovSg.Dispatcher.Callbacks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

/// <summary>The callback retry rules of SPEC §11.1 as a table, on a fake clock.</summary>
public sealed class CallbackRetryPolicyTests
{
    private static readonly DateTime Now = new(2026, 1, 5, 12, 0, 0, DateTimeKind.Utc);

    [TestCase(200)]
    [TestCase(204)]
    [TestCase(299)]
    public void Decide_When2xx_Delivered(int status) =>
        Assert.That(Policy(0.5).Decide(new AttemptResult(status, "HTTP"), 1, Now), Is.TypeOf<DeliveryDecision.Delivered>());

    [TestCase(400)]
    [TestCase(401)]
    [TestCase(404)]
    [TestCase(410)]
    [TestCase(422)]
    public void Decide_WhenOther4xx_DroppedAtOnceWithoutCountingAgainstTheEndpoint(int status)
    {
        var decision = Policy(0.5).Decide(new AttemptResult(status, $"HTTP {status}"), 1, Now);

        Assert.That(decision, Is.EqualTo(new DeliveryDecision.Drop($"HTTP {status}: not retried", EndpointFailed: false)));
    }

    [TestCase(500)]
    [TestCase(503)]
    [TestCase(408)]
    [TestCase(429)]
    [TestCase(302)]
    [TestCase(300)]
    [TestCase(null)]
    public void Decide_WhenRetryable_RetriesWithinTheFirstBackoff(int? status)
    {
        var decision = Policy(0.999).Decide(new AttemptResult(status, "failed"), 1, Now);

        Assert.That(decision, Is.TypeOf<DeliveryDecision.RetryAt>());
        var at = ((DeliveryDecision.RetryAt)decision).At;
        Assert.That(at, Is.GreaterThanOrEqualTo(Now).And.LessThanOrEqualTo(Now.AddSeconds(5)));
    }

    [TestCase(1, 0.5, 2.5)]
    [TestCase(2, 0.5, 5)]
    [TestCase(3, 1.0, 20)]
    [TestCase(11, 1.0, 3_600)]
    [TestCase(40, 1.0, 3_600)]
    [TestCase(5, 0.0, 0)]
    public void Decide_BackoffIsFullJitterUnderADoublingCeilingCappedAtAnHour(int attempts, double random, double seconds)
    {
        var decision = (DeliveryDecision.RetryAt)Policy(random).Decide(new AttemptResult(503, "HTTP 503"), attempts, Now);

        Assert.That(decision.At, Is.EqualTo(Now.AddSeconds(seconds)).Within(TimeSpan.FromMilliseconds(1)));
    }

    [Test]
    public void Decide_WhenTheNextAttemptWouldFallAfter24Hours_DropsTheEvent()
    {
        var created = Now.AddHours(-24).AddSeconds(10);

        var early = Policy(0.001).Decide(new AttemptResult(503, "HTTP 503"), 20, created);
        var late = Policy(0.9).Decide(new AttemptResult(503, "HTTP 503"), 20, created);

        Assert.That(early, Is.TypeOf<DeliveryDecision.RetryAt>(), "3.6 s still falls within the 24 h");
        Assert.That(late, Is.EqualTo(new DeliveryDecision.Drop("HTTP 503: gave up after 24 h", EndpointFailed: true)));
    }

    [Test]
    public void Decide_WhenTheNextAttemptFallsExactlyAt24Hours_StillRetries()
    {
        var decision = Policy(0.0).Decide(new AttemptResult(503, "HTTP 503"), 3, Now.AddHours(-24));

        Assert.That(decision, Is.EqualTo(new DeliveryDecision.RetryAt(Now, "HTTP 503")));
    }

    [TestCase(4, null)]
    [TestCase(5, 5.0)]
    [TestCase(6, 10.0)]
    [TestCase(30, 3_600.0)]
    public void EndpointPausedUntil_PausesFromTheThresholdOn(int failures, double? seconds)
    {
        var until = Policy(1.0).EndpointPausedUntil(failures);

        Assert.That(until, Is.EqualTo(seconds is null ? null : Now.AddSeconds(seconds.Value)));
    }

    [Test]
    public void Signature_MatchesOpensslForEachSecret()
    {
        // printf '%s' '1700000000.{"id":"1"}' | openssl dgst -sha256 -hmac whsec_test (and whsec_old)
        var header = CallbackSignature.Header(1_700_000_000, Encoding.UTF8.GetBytes("""{"id":"1"}"""), ["whsec_test", "whsec_old"]);

        Assert.That(header, Is.EqualTo("t=1700000000," +
            "v1=11bf4466ea17c3df3fd743af0b435368e16b7a05eb8eced85e8c4670767bdec5," +
            "v1=5657f21db071c80b6ff8af05b3676468d4c81b0d846b2385229eb74705ac6a30"));
    }

    private static CallbackRetryPolicy Policy(double random) =>
        new(Options.Create(new CallbackOptions()), new FakeTimeProvider(Now), new FixedRandom(random));

    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }
}
