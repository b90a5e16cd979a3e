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
}
