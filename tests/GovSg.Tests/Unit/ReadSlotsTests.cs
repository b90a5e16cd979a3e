using GovSg.Api.Auth;
using GovSg.Api.RateLimiting;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Unit;

public sealed class ReadSlotsTests
{
    private static readonly Caller Live = Of(1, "live");
    private static readonly Caller Test = Of(1, "test");
    private static readonly Caller OtherUser = Of(2, "live");

    [Test]
    public async Task Acquire_BeyondTheUsersSlots_WaitsInItsQueue_ThenIsRefused_WhileOthersGoOn()
    {
        using var slots = Slots(new RateLimitOptions { ConcurrentReadsPerUser = 1, QueuedReadsPerUser = 1 });

        var first = await slots.AcquireAsync(Live, CancellationToken.None);
        var queued = slots.AcquireAsync(Live, CancellationToken.None);
        using var refused = await slots.AcquireAsync(Live, CancellationToken.None);
        using var testKey = await slots.AcquireAsync(Test, CancellationToken.None);
        using var otherUser = await slots.AcquireAsync(OtherUser, CancellationToken.None);

        Assert.That(first, Is.Not.Null);
        Assert.That(queued.IsCompleted, Is.False, "the second waits for the first's slot");
        Assert.That(refused, Is.Null, "the queue holds one");
        Assert.That(testKey, Is.Not.Null, "the user's test keys have slots of their own");
        Assert.That(otherUser, Is.Not.Null, "so has another user");
        first!.Dispose();
        using var next = await queued.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(next, Is.Not.Null, "the queued read takes the slot the first one gave back");
    }

    [Test]
    public async Task Acquire_BeyondTheApisSlots_WaitsForOneOfAnyUser()
    {
        using var slots = Slots(new RateLimitOptions { ConcurrentReadsPerUser = 2, ConcurrentReads = 2 });

        var live = await slots.AcquireAsync(Live, CancellationToken.None);
        using var test = await slots.AcquireAsync(Test, CancellationToken.None);
        var otherUser = slots.AcquireAsync(OtherUser, CancellationToken.None);

        Assert.That(otherUser.IsCompleted, Is.False, "every slot of the Api is taken");
        live!.Dispose();
        using var next = await otherUser.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(next, Is.Not.Null);
    }

    [Test]
    public async Task Acquire_WaitingLongerThanReadSlotWait_IsRefused()
    {
        using var slots = Slots(new RateLimitOptions { ConcurrentReadsPerUser = 1, ReadSlotWait = TimeSpan.FromMilliseconds(200) });
        using var held = await slots.AcquireAsync(Live, CancellationToken.None);

        var waited = System.Diagnostics.Stopwatch.StartNew();
        using var refused = await slots.AcquireAsync(Live, CancellationToken.None);

        Assert.That(refused, Is.Null);
        Assert.That(waited.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(150)));
    }

    private static ReadSlots Slots(RateLimitOptions options) => new(Options.Create(options));

    private static Caller Of(long userId, string keyType) =>
        new(userId, userId * 10, 10, 10, 0, TimeSpan.FromHours(24), keyType);
}
