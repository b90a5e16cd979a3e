using GovSg.Api.RateLimiting;

namespace GovSg.Tests.Integration;

/// <summary>The shared counters under concurrency: batched or not, every request gets its own place in the window.</summary>
public sealed class RateLimitStoreTests
{
    [Test]
    public async Task CountAsync_UnderConcurrency_GivesEachRequestADistinctPlace()
    {
        var env = TestEnvironment.Current;
        var first = await env.CreateUserAsync();
        var second = await env.CreateUserAsync();
        await using var store = new RateLimitStore(env.Database);
        var window = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        var places = await Task.WhenAll(Enumerable.Range(0, 300)
            .Select(i => (User: i % 3 == 0 ? second.Id : first.Id, Index: i))
            .Select(async r => (r.User, Place: await store.CountAsync(r.User, window))));

        Assert.That(places.Where(p => p.User == first.Id).Select(p => p.Place), Is.EquivalentTo(Enumerable.Range(1, 200)));
        Assert.That(places.Where(p => p.User == second.Id).Select(p => p.Place), Is.EquivalentTo(Enumerable.Range(1, 100)));
        Assert.That(await store.CountAsync(first.Id, window.AddSeconds(1)), Is.EqualTo(1), "a new window starts over");
        Assert.That(await store.CountAsync(first.Id, window), Is.EqualTo(2), "a lagging replica's window counts in the current one");
    }
}
