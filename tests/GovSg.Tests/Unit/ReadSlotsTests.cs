using GovSg.Api.RateLimiting;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Unit;

public sealed class ReadSlotsTests
{
    [Test]
    public async Task Acquire_BeyondTheUsersSlots_WaitsInItsQueue_ThenIsRefused_WhileOtherUsersGoOn()
    {
        using var slots = new ReadSlots(Options.Create(new RateLimitOptions { ConcurrentReadsPerUser = 1, QueuedReadsPerUser = 1 }));

        var first = await slots.AcquireAsync(1, CancellationToken.None);
        var queued = slots.AcquireAsync(1, CancellationToken.None);
        using var refused = await slots.AcquireAsync(1, CancellationToken.None);
        using var otherUser = await slots.AcquireAsync(2, CancellationToken.None);

        Assert.That((first.IsAcquired, queued.IsCompleted, refused.IsAcquired, otherUser.IsAcquired), Is.EqualTo((true, false, false, true)));
        first.Dispose();
        using var next = await queued.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(next.IsAcquired, Is.True, "the queued read takes the slot the first one gave back");
    }
}
