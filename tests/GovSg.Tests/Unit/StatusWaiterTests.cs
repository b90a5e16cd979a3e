using GovSg.Api.Messages;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace GovSg.Tests.Unit;

public sealed class StatusWaiterTests
{
    [Test]
    public async Task WaitAsync_WhenTheMessageStaysUnsent_ReturnsWhenTheTimeIsUpAndNotBefore()
    {
        var clock = new FakeTimeProvider();
        // Never opened: the poller that would find the message sent is not started.
        await using var dataSource = NpgsqlDataSource.Create("Host=unused");
        using var waiter = new StatusWaiter(dataSource, clock, NullLogger<StatusWaiter>.Instance);

        var waiting = waiter.WaitAsync(userId: 1, messageId: 1, TimeSpan.FromSeconds(5), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(4.9));
        var completedEarly = waiting.IsCompleted;
        clock.Advance(TimeSpan.FromSeconds(0.1));

        Assert.That(completedEarly, Is.False);
        // The completion runs on the thread pool; the real-time guard only keeps a broken waiter from hanging the run.
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task WaitAsync_BeyondTheUsersCap_AnswersAtOnce_AndTheCapFreesAsWaitsEnd()
    {
        var clock = new FakeTimeProvider();
        await using var dataSource = NpgsqlDataSource.Create("Host=unused");
        using var waiter = new StatusWaiter(dataSource, clock, NullLogger<StatusWaiter>.Instance);
        var timeout = TimeSpan.FromSeconds(5);

        // Two requests wait on each message (idempotent replays), so watches are shared.
        var held = Enumerable.Range(0, StatusWaiter.MaxWaitsPerUser)
            .Select(i => waiter.WaitAsync(userId: 1, messageId: i / 2, timeout, CancellationToken.None)).ToList();
        var beyond = waiter.WaitAsync(userId: 1, messageId: 100, timeout, CancellationToken.None);
        var otherUser = waiter.WaitAsync(userId: 2, messageId: 100, timeout, CancellationToken.None);

        Assert.That(beyond.IsCompletedSuccessfully && !beyond.Result, Is.True, "the 21st wait is refused at once");
        Assert.That(held.Concat([otherUser]).Any(w => w.IsCompleted), Is.False);
        clock.Advance(timeout);
        var ended = await Task.WhenAll(held.Concat([otherUser])).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(ended, Is.All.True);

        var again = Enumerable.Range(0, StatusWaiter.MaxWaitsPerUser)
            .Select(i => waiter.WaitAsync(userId: 1, messageId: i, timeout, CancellationToken.None)).ToList();
        Assert.That(again.Any(w => w.IsCompleted), Is.False, "every wait that ended gave its place back");
        clock.Advance(timeout);
        Assert.That(await Task.WhenAll(again).WaitAsync(TimeSpan.FromSeconds(10)), Is.All.True);
    }
}
