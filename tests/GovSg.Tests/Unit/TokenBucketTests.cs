using GovSg.Api.RateLimiting;

namespace GovSg.Tests.Unit;

public sealed class TokenBucketTests
{
    private static readonly DateTime Now = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly BucketLimit Limit = new(Rate: 10, Burst: 60);

    // fullAt is how far ahead of now the bucket will be full again; 6 s is empty for 10/s and a burst of 60.
    [TestCase(1, true, -1_000, 60, 0, 0, TestName = "a bucket full since a while back")]
    [TestCase(1, true, 100, 59, 1, 0, TestName = "one token just taken")]
    [TestCase(1, true, 5_950, 0, 6, 0, TestName = "half a token left rounds down")]
    [TestCase(1, false, 6_000, 0, 6, 1, TestName = "empty: one token is 100 ms away")]
    [TestCase(30, false, 5_000, 10, 5, 2, TestName = "ten left, thirty asked: twenty more take 2 s")]
    [TestCase(60, false, 2_500, 35, 3, 3, TestName = "a whole burst waits until the bucket is full")]
    public void Outcome_ReportsWholeTokensLeftAndWholeSecondsToWait(int cost, bool granted, int fullInMs, int remaining,
        int reset, int retryAfter)
    {
        var outcome = TokenBucket.Outcome(Limit, cost, granted, Now.AddMilliseconds(fullInMs), Now);

        Assert.That(outcome, Is.EqualTo(new TakeOutcome(granted, 60, remaining, reset, retryAfter)));
    }

    [Test]
    public void BucketLimit_ConvertsRateAndBurstToTimes()
    {
        Assert.That(Limit.PerToken, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
        Assert.That(Limit.Window, Is.EqualTo(TimeSpan.FromSeconds(6)));
        Assert.That(Limit.Cost(25), Is.EqualTo(TimeSpan.FromMilliseconds(2_500)));
    }

    [Test]
    public void SingleOutcome_BeyondTheTokensGranted_IsRefused()
    {
        var fullAt = Now.AddSeconds(6);

        var granted = TokenBucket.SingleOutcome(Limit, granted: 2, fullAt, place: 2, Now);
        var refused = TokenBucket.SingleOutcome(Limit, granted: 2, fullAt, place: 3, Now);

        Assert.That(granted.Granted, Is.True);
        Assert.That(refused, Is.EqualTo(new TakeOutcome(false, 60, 0, 6, 1)));
    }
}
