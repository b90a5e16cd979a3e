using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

/// <summary>SPEC §5's failure policy as a table: the message's attempt, the call's outcome and the time decide.</summary>
public sealed class FailurePolicyTests
{
    private static readonly DateTime FirstTry = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime ValidUntil = FirstTry.AddHours(24);

    private static readonly SendOutcome Accepted = SendOutcome.Success("wamid.A");
    private static readonly SendOutcome SomethingWentWrong = SendOutcome.Failure(FailureKind.Transient, "131000", "Something went wrong");
    private static readonly SendOutcome Undeliverable = SendOutcome.Failure(FailureKind.Permanent, "131026", "Message undeliverable");
    private static readonly SendOutcome PairRate = SendOutcome.Failure(FailureKind.PairRate, "131056", "Pair rate limit hit");
    private static readonly SendOutcome Throughput = SendOutcome.Failure(FailureKind.Throughput, "130429", "Rate limit hit");
    private static readonly SendOutcome TimedOut = SendOutcome.Failure(FailureKind.Transient, "timeout", "No answer", possiblySent: true);
    private static readonly SendOutcome Refused = SendOutcome.Failure(FailureKind.Transient, "provider_unavailable", "Refused");
    private static readonly SendOutcome TokenExpired = SendOutcome.Failure(FailureKind.CredentialsBroken, "190", "Token expired");
    private static readonly SendOutcome Paused = SendOutcome.NotCalled(FailureKind.Paused, "Sending paused");
    private static readonly SendOutcome Stopping = SendOutcome.NotCalled(FailureKind.Stopping, "Stopping");
    private static readonly SendOutcome LateTurn = SendOutcome.NotCalled(FailureKind.LateTurn, "Slot after the lease");
    private static readonly SendOutcome UserDisabled = SendOutcome.NotCalled(FailureKind.UserDisabled, "User disabled");

    private static IEnumerable<TestCaseData> Table()
    {
        TestCaseData Row(string name, int attempt, TimeSpan elapsed, SendOutcome outcome, SendDecision expected,
            TimeSpan? pausedFor = null, double jitter = 1.0, DateTime? expiresAt = null) =>
            new TestCaseData(attempt, elapsed, expiresAt ?? ValidUntil, outcome, pausedFor, jitter, expected).SetName(name);

        var now = FirstTry;
        yield return Row("Accepted: ACCEPTED with the provider's id", 1, TimeSpan.Zero, Accepted, new SendDecision.Accept("wamid.A"));
        yield return Row("Permanent: ERROR at once with the provider's code", 1, TimeSpan.Zero, Undeliverable,
            new SendDecision.Fail("131026", "Message undeliverable"));
        yield return Row("Stopping: handed back, not counted", 2, TimeSpan.FromSeconds(3), Stopping, new SendDecision.HandBack());
        yield return Row("Slot after the lease: handed back uncalled, not counted", 2, TimeSpan.FromSeconds(3), LateTurn,
            new SendDecision.HandBack());
        yield return Row("User disabled since the claim: handed back uncalled, not counted", 2, TimeSpan.FromSeconds(3),
            UserDisabled, new SendDecision.HandBack());
        yield return Row("Transient, first attempt: retry within 1 s", 1, TimeSpan.Zero, SomethingWentWrong,
            new SendDecision.RetryAt(now.AddSeconds(1), "131000: Something went wrong"));
        yield return Row("Transient, third attempt at half jitter: retry in 2 s", 3, TimeSpan.FromSeconds(10), SomethingWentWrong,
            new SendDecision.RetryAt(now.AddSeconds(12), "131000: Something went wrong"), jitter: 0.5);
        yield return Row("Throughput: retried like any transient failure", 1, TimeSpan.Zero, Throughput,
            new SendDecision.RetryAt(now.AddSeconds(1), "130429: Rate limit hit"));
        yield return Row("Pair rate: never sooner than 6 s, even by a clock 1 s ahead (the clock tolerance)", 1, TimeSpan.Zero,
            PairRate, new SendDecision.RetryAt(now.AddSeconds(7), "131056: Pair rate limit hit"), jitter: 0.0);
        yield return Row("Refused before the request left: retried freely, no hold", 1, TimeSpan.Zero, Refused,
            new SendDecision.RetryAt(now.AddSeconds(1), "provider_unavailable: Refused"));
        yield return Row("Transient whose next try falls past the budget: one last try 1 s before its end", 10,
            TimeSpan.FromMinutes(14), SomethingWentWrong,
            new SendDecision.RetryAt(now.AddMinutes(15).AddSeconds(-1), "131000: Something went wrong"));
        yield return Row("Transient past the 15-minute budget: retries exhausted", 10, TimeSpan.FromSeconds(14 * 60 + 59.5), SomethingWentWrong,
            new SendDecision.Fail("retries_exhausted", "Gave up after 10 attempt(s) over 15 min; last error 131000: Something went wrong"));
        yield return Row("Transient past the budget whose validity ends sooner still: left to expire when its validity ends", 10,
            TimeSpan.FromSeconds(14 * 60 + 59.5), SomethingWentWrong,
            new SendDecision.RetryAt(now.AddSeconds(14 * 60 + 59.8), "131000: Something went wrong"),
            expiresAt: now.AddSeconds(14 * 60 + 59.8));
        yield return Row("Transient whose next try falls past the validity: one last try 1 s before it ends", 6,
            TimeSpan.FromSeconds(36), SomethingWentWrong,
            new SendDecision.RetryAt(now.AddSeconds(59), "131000: Something went wrong"), expiresAt: now.AddMinutes(1));
        yield return Row("Pair rate with less than its wait left: not tried sooner than the wait, left to expire when its validity ends",
            1, TimeSpan.Zero, PairRate, new SendDecision.RetryAt(now.AddSeconds(5), "131056: Pair rate limit hit"),
            jitter: 0.0, expiresAt: now.AddSeconds(5));
        yield return Row("Transient whose next try is past the validity, too close for another: left to expire when its validity ends",
            1, TimeSpan.Zero, SomethingWentWrong,
            new SendDecision.RetryAt(now.AddMilliseconds(500), "131000: Something went wrong"), expiresAt: now.AddMilliseconds(500));
        yield return Row("Timed out: held 90 s for a status naming the call", 1, TimeSpan.Zero, TimedOut,
            new SendDecision.Hold(TimeSpan.FromSeconds(90), "timeout: No answer"));
        yield return Row("Timed out past the budget: still held, it may have been sent", 10, TimeSpan.FromMinutes(16), TimedOut,
            new SendDecision.Hold(TimeSpan.FromSeconds(90), "timeout: No answer"));
        yield return Row("Timed out with the validity ending during the hold: still held", 1, TimeSpan.Zero, TimedOut,
            new SendDecision.Hold(TimeSpan.FromSeconds(90), "timeout: No answer"), expiresAt: now.AddSeconds(10));
        yield return Row("Credentials rejected: kept until the pause ends", 1, TimeSpan.Zero, TokenExpired,
            new SendDecision.DeferUntil(now.AddSeconds(15), "190: Token expired"), pausedFor: TimeSpan.FromSeconds(15), jitter: 0.0);
        yield return Row("Paused: back after the pause, spread over at most 5 s, not called", 1, TimeSpan.Zero, Paused,
            new SendDecision.DeferUntil(now.AddSeconds(20), "not_called: Sending paused", Called: false),
            pausedFor: TimeSpan.FromSeconds(15));
        yield return Row("Paused beyond the validity: kept until its validity ends, then left to expire", 1, TimeSpan.Zero, Paused,
            new SendDecision.DeferUntil(now.AddMinutes(1), "not_called: Sending paused", Called: false),
            pausedFor: TimeSpan.FromMinutes(5), expiresAt: now.AddMinutes(1));
    }

    [TestCase(false, 20.0, ExpectedResult = null, TestName = "BeforeCall: a first try or a retry is called")]
    [TestCase(true, 14.0, ExpectedResult = null, TestName = "BeforeCall: a hold begun within the budget ends in a re-send")]
    [TestCase(true, 15.0, ExpectedResult = null, TestName = "BeforeCall: a hold begun as the budget ends still ends in a re-send")]
    [TestCase(true, 16.0, ExpectedResult = "retries_exhausted: Gave up after 4 attempt(s) over 15 min; last error timeout: No answer",
        TestName = "BeforeCall: a hold begun past the budget ends without a re-send")]
    public string? BeforeCall(bool resend, double heldAfterMinutes)
    {
        var policy = new FailurePolicy(Options.Create(new RetryOptions()), new FakeTimeProvider(FirstTry.AddMinutes(20)));
        var message = new ClaimedMessage
        {
            Id = 7,
            Attempts = 5,
            FirstAttemptAt = FirstTry,
            ExpiresAt = ValidUntil,
            LastError = "timeout: No answer",
            Resend = resend,
            HeldAt = FirstTry.AddMinutes(heldAfterMinutes),
        };

        return policy.BeforeCall(message) is SendDecision.Fail fail ? $"{fail.Code}: {fail.Description}" : null;
    }

    [Test]
    public void BeforeCall_ToARecipientInItsPairRateWait_HandsTheMessageBackUntilTheWaitEnds()
    {
        var policy = new FailurePolicy(Options.Create(new RetryOptions()), new FakeTimeProvider(FirstTry));
        var waitEnds = FirstTry.AddSeconds(5);
        var message = new ClaimedMessage { Id = 7, Attempts = 1, FirstAttemptAt = FirstTry, ExpiresAt = ValidUntil, RecipientWaitUntil = waitEnds };

        Assert.That(policy.BeforeCall(message), Is.EqualTo(new SendDecision.HandBack(waitEnds)));
    }

    [TestCaseSource(nameof(Table))]
    public void Decide(int attempt, TimeSpan elapsed, DateTime expiresAt, SendOutcome outcome, TimeSpan? pausedFor,
        double jitter, SendDecision expected)
    {
        var time = new FakeTimeProvider(FirstTry);
        time.Advance(elapsed);
        var now = time.GetUtcNow().UtcDateTime;
        var policy = new FailurePolicy(Options.Create(new RetryOptions()), time);
        var message = new ClaimedMessage { Id = 7, Attempts = attempt, FirstAttemptAt = FirstTry, ExpiresAt = expiresAt };

        var decision = policy.Decide(message, outcome, now + pausedFor, jitter);

        Assert.That(decision, Is.EqualTo(expected));
    }

    [Test]
    public void BeforeCall_WhenAHoldPastTheBudgetEndsWithNoErrorRecorded_SaysTheLastErrorIsUnknown()
    {
        var policy = new FailurePolicy(Options.Create(new RetryOptions()), new FakeTimeProvider(FirstTry.AddMinutes(20)));
        var message = new ClaimedMessage
        {
            Id = 7,
            Attempts = 2,
            FirstAttemptAt = FirstTry,
            ExpiresAt = ValidUntil,
            Resend = true,
            HeldAt = FirstTry.AddMinutes(16),
        };

        Assert.That(policy.BeforeCall(message),
            Is.EqualTo(new SendDecision.Fail("retries_exhausted", "Gave up after 1 attempt(s) over 15 min; last error unknown")));
    }

    [Test]
    public void Decide_WhenATransientFailureDrawsPastTheBudget_TriesOnceMoreJustBeforeItEnds()
    {
        // Three seconds are left: less than a pair-rate wait, but time for an ordinary retry, which comes last rather than
        // the message failing early.
        var time = new FakeTimeProvider(FirstTry);
        time.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(4));
        var policy = new FailurePolicy(Options.Create(new RetryOptions()), time);
        var message = new ClaimedMessage { Id = 7, Attempts = 5, FirstAttemptAt = FirstTry, ExpiresAt = ValidUntil };

        var decision = policy.Decide(message, SomethingWentWrong, null, 0.99);

        Assert.That(decision, Is.EqualTo(new SendDecision.RetryAt(FirstTry.AddMinutes(15).AddSeconds(-1), "131000: Something went wrong")));
    }
}
