using Dapper;
using GovSg.Api.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Integration;

/// <summary>The shared token buckets in PostgreSQL, on a fake clock: burst, refusal, refill, and takes racing.</summary>
public sealed class RateLimitStoreTests
{
    private static readonly BucketLimit Limit = new(Rate: 10, Burst: 5);

    private static RateLimitStore _store = null!;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero));
    private long _userId;

    [OneTimeSetUp]
    public static void CreateStore() => _store = new RateLimitStore(TestEnvironment.Current.Database);

    [OneTimeTearDown]
    public static async Task DisposeStoreAsync() => await _store.DisposeAsync();

    [SetUp]
    public void NewUser() => _userId = Random.Shared.NextInt64(1_000_000_000, long.MaxValue);

    [Test]
    public async Task TakeAsync_AfterTheBurst_RefusesUntilTokensRefill()
    {
        var burst = new List<TakeOutcome>();
        for (var i = 0; i < 5; i++)
        {
            burst.Add(await TakeAsync("send:live", 1));
        }

        var refused = await TakeAsync("send:live", 1);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        var refilledOne = await TakeAsync("send:live", 1);
        var refusedTwo = await TakeAsync("send:live", 2);
        _time.Advance(TimeSpan.FromSeconds(10));
        var afterFull = await TakeAsync("send:live", 5);

        Assert.That(burst.Select(o => o.Granted), Is.All.True);
        Assert.That(burst.Select(o => o.Remaining), Is.EqualTo(new[] { 4, 3, 2, 1, 0 }));
        Assert.That(refused, Is.EqualTo(new TakeOutcome(false, 5, 0, 1, 1)));
        Assert.That(refilledOne.Granted, Is.True);
        Assert.That(refusedTwo.Granted, Is.False, "a refused take leaves the bucket empty, not in debt");
        Assert.That(afterFull, Is.EqualTo(new TakeOutcome(true, 5, 0, 1, 0)), "a bucket holds no more than its burst");
    }

    [Test]
    public async Task TakeAsync_WhenAnotherBucketOfTheUserIsEmpty_StillGrants()
    {
        await TakeAsync("send:live", 5);

        var live = await TakeAsync("send:live", 1);
        var test = await TakeAsync("send:test", 1);

        Assert.That(live.Granted, Is.False);
        Assert.That(test, Is.EqualTo(new TakeOutcome(true, 5, 4, 1, 0)));
    }

    [Test]
    public async Task TakeAsync_UnderConcurrency_GrantsExactlyTheBurst()
    {
        var limit = new BucketLimit(Rate: 1, Burst: 30);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ =>
            _store.TakeAsync(_userId, "read", limit, 1, _time.GetUtcNow().UtcDateTime, CancellationToken.None)));

        Assert.That(outcomes.Count(o => o.Granted), Is.EqualTo(30));
        Assert.That(outcomes.Where(o => o.Granted).Select(o => o.Remaining), Is.EquivalentTo(Enumerable.Range(0, 30)));
    }

    [Test]
    public async Task TakeAsync_ABatchTakeRacingSingleTakes_NeverOverdrawsTheBucket()
    {
        var limit = new BucketLimit(Rate: 1, Burst: 30);
        var now = _time.GetUtcNow().UtcDateTime;

        var batch = _store.TakeAsync(_userId, "send:live", limit, 20, now, CancellationToken.None);
        var singles = Enumerable.Range(0, 30).Select(_ => _store.TakeAsync(_userId, "send:live", limit, 1, now, CancellationToken.None));
        var outcomes = await Task.WhenAll(singles.Append(batch));

        var taken = outcomes.Take(30).Count(o => o.Granted) + (outcomes[30].Granted ? 20 : 0);
        Assert.That(taken, Is.InRange(21, 30), "everything granted fits in the bucket, and the bucket is used");
    }

    [Test]
    public async Task TakeAsync_UnderConcurrentDemand_LeasesTokensTheNextTakesGetWithoutAskingTheBucket()
    {
        var limit = new BucketLimit(Rate: 1, Burst: 100);
        var now = _time.GetUtcNow().UtcDateTime;

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            _store.TakeAsync(_userId, "send:live", limit, 1, now, CancellationToken.None)));
        await EmptyBucketAsync(limit);

        var afterwards = new List<TakeOutcome>();
        for (var i = 0; i < 20; i++)
        {
            afterwards.Add(await _store.TakeAsync(_userId, "send:live", limit, 1, now, CancellationToken.None));
        }

        var leased = afterwards.TakeWhile(o => o.Granted).Count();
        Assert.That(concurrent.Select(o => o.Granted), Is.All.True);
        Assert.That(leased, Is.InRange(1, TokenLease.MaxSurplus(limit)), "some, and at most a tenth of the burst");
        Assert.That(afterwards.Skip(leased).Select(o => o.Granted), Is.All.False, "then the empty bucket refuses");
        Assert.That(afterwards.Take(leased).Select(o => o.Remaining), Is.Ordered.Descending.And.Unique);
    }

    [Test]
    public async Task TakeAsync_OfRequestsComingOneAtATimeWithinASecond_LeasesTokensTheNextTakesGetWithoutAskingTheBucket()
    {
        var limit = new BucketLimit(Rate: 1, Burst: 100);
        var sequential = new List<TakeOutcome>();
        for (var i = 0; i < 4; i++)
        {
            sequential.Add(await TakeAsync(limit));
            _time.Advance(TimeSpan.FromMilliseconds(200));
        }

        await EmptyBucketAsync(limit);
        var afterwards = new List<TakeOutcome>();
        for (var i = 0; i < 10; i++)
        {
            afterwards.Add(await TakeAsync(limit));
        }

        // The takes asked for 1, 1 + 1, then 1 + 2 (the second's lease served the third request): two of those are left.
        Assert.That(sequential.Select(o => o.Granted), Is.All.True);
        Assert.That(afterwards.Select(o => o.Granted), Is.EqualTo(new[] { true, true }.Concat(Enumerable.Repeat(false, 8))));
    }

    [Test]
    public async Task TakeAsync_AfterALeaseEndedWithTokensLeft_GivesThemBackToTheBucket()
    {
        var limit = new BucketLimit(Rate: 1, Burst: 100);
        await TakeAsync(limit);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        await TakeAsync(limit); // takes 2, leases 1 that no request uses
        _time.Advance(TimeSpan.FromSeconds(2));

        var third = await TakeAsync(limit);

        // As if exactly 3 tokens had been taken, at 0 s, 0.2 s and 2.2 s: 97 left, plus 2.2 s of refill at 1 a second.
        Assert.That(third, Is.EqualTo(new TakeOutcome(true, 100, 99, 1, 0)));
    }

    [Test]
    public async Task TakeAsync_OfRequestsComingOneAtATimeASecondApart_TakesExactlyOneTokenEach()
    {
        var limit = new BucketLimit(Rate: 1, Burst: 100);
        for (var i = 0; i < 3; i++)
        {
            Assert.That((await TakeAsync(limit)).Granted, Is.True);
            _time.Advance(TokenLease.Duration);
        }

        await EmptyBucketAsync(limit);

        Assert.That((await TakeAsync(limit)).Granted, Is.False, "nothing was leased");
    }

    private Task<TakeOutcome> TakeAsync(BucketLimit limit) =>
        _store.TakeAsync(_userId, "send:live", limit, 1, _time.GetUtcNow().UtcDateTime, CancellationToken.None);

    private async Task EmptyBucketAsync(BucketLimit limit)
    {
        // Behind the store's back: what is granted from now on was leased.
        await using var connection = await TestEnvironment.Current.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE rate_limit_buckets SET full_at = @full WHERE user_id = @user",
            new { full = _time.GetUtcNow().UtcDateTime + limit.Window, user = _userId });
    }

    private Task<TakeOutcome> TakeAsync(string bucket, int tokens) =>
        _store.TakeAsync(_userId, bucket, Limit, tokens, _time.GetUtcNow().UtcDateTime, CancellationToken.None);
}
