using GovSg.Api.Auth;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

public sealed class UnknownKeyIdsTests
{
    [Test]
    public void Contains_WithinTheDuration_IsTrue_AndAfterItFalse()
    {
        var time = new FakeTimeProvider();
        var unknown = new UnknownKeyIds(TimeSpan.FromSeconds(30), time);

        unknown.Add("0123456789abcdef");
        time.Advance(TimeSpan.FromSeconds(29));
        var remembered = unknown.Contains("0123456789abcdef");
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(remembered, Is.True);
        Assert.That(unknown.Contains("0123456789abcdef"), Is.False);
        Assert.That(unknown.Contains("fedcba9876543210"), Is.False);
    }

    [Test]
    public void Add_WithAZeroDuration_RemembersNothing()
    {
        var unknown = new UnknownKeyIds(TimeSpan.Zero, new FakeTimeProvider());

        unknown.Add("0123456789abcdef");

        Assert.That(unknown.Contains("0123456789abcdef"), Is.False);
    }

    [Test]
    public void Add_WhenFull_DropsTheExpiredIdsFirst_AndNeverGrowsPastTheBound()
    {
        var time = new FakeTimeProvider();
        var unknown = new UnknownKeyIds(TimeSpan.FromSeconds(30), time);
        for (var i = 0; i < UnknownKeyIds.MaxEntries / 2; i++)
        {
            unknown.Add($"old-{i}");
        }

        time.Advance(TimeSpan.FromSeconds(31));
        for (var i = 0; i < UnknownKeyIds.MaxEntries; i++)
        {
            unknown.Add($"new-{i}");
        }

        Assert.That(unknown.Count, Is.LessThanOrEqualTo(UnknownKeyIds.MaxEntries));
        Assert.That(unknown.Contains("new-99999"), Is.True);
    }
}
