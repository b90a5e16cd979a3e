using GovSg.Api.RateLimiting;

namespace GovSg.Tests.Unit;

public sealed class TokenLeaseTests
{
    private static readonly BucketLimit Limit = new(Rate: 10, Burst: 600);
    private static readonly DateTime Now = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Test]
    public void TryHandOut_GivesTheTokensLeftInOrder_EachSeeingTheBucketPlusTheTokensStillToCome()
    {
        // A take of 4 tokens served one request and left the bucket with 100 tokens; 3 are leased.
        var fullAt = Now + Limit.PerToken * 500;
        var lease = new TokenLease(Limit, granted: 4, handedOut: 1, fullAt, Now + TokenLease.Duration, surplus: 3);

        var outcomes = Enumerable.Range(0, 4).Select(_ => lease.TryHandOut(Limit, Now)).ToList();

        Assert.That(outcomes.Take(3).Select(o => o?.Remaining), Is.EqualTo(new int?[] { 102, 101, 100 }));
        Assert.That(outcomes.Take(3).Select(o => o?.Granted), Is.All.True);
        Assert.That(outcomes[3], Is.Null, "three tokens were leased, not four");
        Assert.That(lease.UsedUp, Is.True);
    }

    [Test]
    public void TryHandOut_AfterTheLeaseEnded_OrWithAChangedLimit_GivesNothing()
    {
        var lease = new TokenLease(Limit, granted: 4, handedOut: 1, Now, Now + TokenLease.Duration, surplus: 3);

        Assert.That(lease.TryHandOut(Limit, Now + TokenLease.Duration), Is.Null);
        Assert.That(lease.TryHandOut(Limit with { Burst = 1200 }, Now), Is.Null);
        Assert.That(lease.UsedUp, Is.False);
    }

    [Test]
    public void Close_GivesTheTokensLeftOnce_AndHandsNothingOutAfter()
    {
        var lease = new TokenLease(Limit, granted: 5, handedOut: 1, Now, Now + TokenLease.Duration, surplus: 4);
        lease.TryHandOut(Limit, Now);

        Assert.That(lease.Close(), Is.EqualTo(3));
        Assert.That(lease.Close(), Is.Zero, "given back once");
        Assert.That(lease.TryHandOut(Limit, Now), Is.Null);
        Assert.That(lease.UsedUp, Is.False, "a lease closed with tokens left outlasted its demand");
    }

    [TestCase(1, 0)]
    [TestCase(2, 1)]
    [TestCase(20, 19)]
    [TestCase(500, 60)]
    public void SurplusFor_WithNoLeaseBefore_IsTheRequestsWaitingBeyondTheFirst_UpToATenthOfTheBurst(int waiting, int surplus) =>
        Assert.That(TokenLease.SurplusFor(Limit, waiting, previous: null, Now), Is.EqualTo(surplus));

    [Test]
    public void SurplusFor_AfterALeaseUsedUpInTime_Doubles_AfterOneThatOutlastedTheDemandHalves_AndAfterQuietStartsOver()
    {
        var usedUp = new TokenLease(Limit, granted: 9, handedOut: 1, Now, Now + TokenLease.Duration, surplus: 8);
        while (usedUp.TryHandOut(Limit, Now) is not null)
        {
        }

        var leftOver = new TokenLease(Limit, granted: 9, handedOut: 1, Now, Now + TokenLease.Duration, surplus: 8);
        var quiet = Now + TokenLease.Duration * 2;

        Assert.That(TokenLease.SurplusFor(Limit, 1, usedUp, Now), Is.EqualTo(16));
        Assert.That(TokenLease.SurplusFor(Limit, 1, leftOver, Now), Is.EqualTo(4));
        Assert.That(TokenLease.SurplusFor(Limit, 1, usedUp, Now + TokenLease.Duration), Is.EqualTo(4), "demand that paused");
        Assert.That(TokenLease.SurplusFor(Limit, 7, leftOver, Now), Is.EqualTo(6), "never less than the requests waiting");
        Assert.That(TokenLease.SurplusFor(Limit, 20, usedUp, Now), Is.EqualTo(19), "nor after a lease used up");
        Assert.That(TokenLease.SurplusFor(Limit, 1, usedUp, quiet), Is.Zero, "demand that stopped");
        Assert.That(TokenLease.SurplusFor(Limit, 1, leftOver, quiet), Is.Zero);
        Assert.That(TokenLease.SurplusFor(new BucketLimit(Rate: 1, Burst: 9), 5, null, Now), Is.Zero, "a small bucket stays exact");
    }

    [Test]
    public void SurplusFor_AfterATakeThatLeasedNothing_IsOneWithinTheDuration_AndNoneAfter()
    {
        // A lone request's take: its own token, handed out, and nothing left over.
        var lone = new TokenLease(Limit, granted: 1, handedOut: 1, Now, Now + TokenLease.Duration, surplus: 0);

        Assert.That(lone.UsedUp, Is.True);
        Assert.That(TokenLease.SurplusFor(Limit, 1, lone, Now + TimeSpan.FromMilliseconds(999)), Is.EqualTo(1),
            "a request within a second of the last");
        Assert.That(TokenLease.SurplusFor(Limit, 1, lone, Now + TokenLease.Duration), Is.Zero, "one a second or less");
        Assert.That(TokenLease.SurplusFor(new BucketLimit(Rate: 1, Burst: 9), 1, lone, Now), Is.Zero, "a small bucket stays exact");
    }
}
