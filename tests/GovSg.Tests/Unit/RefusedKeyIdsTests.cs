using GovSg.Api.Auth;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

public sealed class RefusedKeyIdsTests
{
    [Test]
    public void TryGet_WithinTheDuration_IsTrue_AndAfterItFalse()
    {
        var time = new FakeTimeProvider();
        var refused = new RefusedKeyIds(TimeSpan.FromSeconds(30), time);

        refused.Add("0123456789abcdef");
        time.Advance(TimeSpan.FromSeconds(29));
        var remembered = refused.TryGet("0123456789abcdef", out _);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(remembered, Is.True);
        Assert.That(refused.TryGet("0123456789abcdef", out _), Is.False);
        Assert.That(refused.TryGet("fedcba9876543210", out _), Is.False);
    }

    [Test]
    public void TryGet_ForAnIdFoundWithAWrongSecret_GivesItsStoredHash_AndForAnIdNotFoundNone()
    {
        var refused = new RefusedKeyIds(TimeSpan.FromSeconds(30), new FakeTimeProvider());
        byte[] hash = [1, 2, 3];

        refused.Add("0123456789abcdef", hash);
        refused.Add("fedcba9876543210");

        Assert.That(refused.TryGet("0123456789abcdef", out var found), Is.True);
        Assert.That(found, Is.EqualTo(hash));
        Assert.That(refused.TryGet("fedcba9876543210", out var missing), Is.True);
        Assert.That(missing, Is.Null);
    }

    [Test]
    public void Add_WithAZeroDuration_RemembersNothing()
    {
        var refused = new RefusedKeyIds(TimeSpan.Zero, new FakeTimeProvider());

        refused.Add("0123456789abcdef");

        Assert.That(refused.TryGet("0123456789abcdef", out _), Is.False);
        Assert.That(refused.Count, Is.Zero);
    }

    [Test]
    public void Add_WhenFull_DropsTheExpiredIdsFirst_AndNeverGrowsPastTheBound()
    {
        var time = new FakeTimeProvider();
        var refused = new RefusedKeyIds(TimeSpan.FromSeconds(30), time);
        for (var i = 0; i < RefusedKeyIds.MaxEntries / 2; i++)
        {
            refused.Add($"old-{i}");
        }

        time.Advance(TimeSpan.FromSeconds(31));
        for (var i = 0; i < RefusedKeyIds.MaxEntries; i++)
        {
            refused.Add($"new-{i}");
        }

        Assert.That(refused.Count, Is.LessThanOrEqualTo(RefusedKeyIds.MaxEntries));
        Assert.That(refused.TryGet("new-99999", out _), Is.True);
    }

    [Test]
    public void Add_WhenFull_DropsOnlyTheExpiredIds_AndKeepsThoseStillWithinTheirDuration()
    {
        var time = new FakeTimeProvider();
        var refused = new RefusedKeyIds(TimeSpan.FromSeconds(30), time);
        const int half = RefusedKeyIds.MaxEntries / 2;
        for (var i = 0; i < half; i++)
        {
            refused.Add($"old{i}");
        }

        time.Advance(TimeSpan.FromSeconds(30));
        for (var i = 0; i < RefusedKeyIds.MaxEntries - half; i++)
        {
            refused.Add($"new{i}");
        }

        refused.Add("latest");

        Assert.That(refused.Count, Is.EqualTo(RefusedKeyIds.MaxEntries - half + 1));
        Assert.That(refused.TryGet("new0", out _), Is.True, "an id still within its duration is kept");
        Assert.That(refused.TryGet("latest", out _), Is.True);
    }

    [Test]
    public void Add_WhenFull_AndTooFewHaveExpiredToLeaveATenthFree_StartsOver()
    {
        // A flood that keeps the set just full, a few ids expiring as each new one comes, would otherwise walk all
        // 100,000 entries on every refusal to free one or two.
        var time = new FakeTimeProvider();
        var refused = new RefusedKeyIds(TimeSpan.FromSeconds(30), time);
        const int expiring = RefusedKeyIds.MaxEntries / 10 - 1;
        for (var i = 0; i < expiring; i++)
        {
            refused.Add($"old{i}");
        }

        time.Advance(TimeSpan.FromSeconds(30));
        for (var i = expiring; i < RefusedKeyIds.MaxEntries; i++)
        {
            refused.Add($"new{i}");
        }

        refused.Add("latest");

        Assert.That(refused.Count, Is.EqualTo(1));
        Assert.That(refused.TryGet("latest", out _), Is.True);
    }

    [Test]
    public void Add_WhenFullOfIdsStillWithinTheirDuration_StartsOver()
    {
        var refused = new RefusedKeyIds(TimeSpan.FromSeconds(30), new FakeTimeProvider());
        for (var i = 0; i < RefusedKeyIds.MaxEntries; i++)
        {
            refused.Add($"id{i}");
        }

        refused.Add("latest");

        Assert.That(refused.Count, Is.EqualTo(1), "bounded: never more than the most");
        Assert.That(refused.TryGet("latest", out _), Is.True);
    }
}
