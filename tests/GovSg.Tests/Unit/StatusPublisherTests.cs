using GovSg.Api.Webhooks;
using GovSg.Contracts;
using GovSg.Tests.Integration;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

/// <summary>The webhook statuses' publisher on MassTransit's in-memory test harness, its window on a fake clock.</summary>
public sealed class StatusPublisherTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(50);

    // Completions run on the thread pool; the real-time guard only keeps a broken publisher from hanging the run.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    [Test]
    public async Task PublishAsync_WhenWebhooksArriveWithinTheWindow_PublishesTheirStatusesOnceAndInOrder()
    {
        await using var bus = await Bus.StartAsync();
        var (clock, harness, publisher) = (bus.Clock, bus.Harness, bus.Publisher);

        var first = publisher.PublishAsync([Status("wamid.1", "sent")], CancellationToken.None);
        var second = publisher.PublishAsync([Status("wamid.1", "delivered"), Status("wamid.2", "sent")], CancellationToken.None);
        var answeredEarly = first.IsCompleted || second.IsCompleted;
        await PassWindowAsync(clock, Task.WhenAll(first, second));

        Assert.That(answeredEarly, Is.False, "a webhook is answered only once its statuses are published");
        var published = harness.Published.Select<ProviderStatusesReceived>().ToList();
        Assert.That(published, Has.Count.EqualTo(1));
        Assert.That(published[0].Context.Message.Statuses.Select(s => (s.ProviderMessageId, s.Status)),
            Is.EqualTo(new[] { ("wamid.1", "sent"), ("wamid.1", "delivered"), ("wamid.2", "sent") }));
    }

    [Test]
    public async Task PublishAsync_WhenAWebhookArrivesAfterThePublish_PublishesItSeparately()
    {
        await using var bus = await Bus.StartAsync();
        var (clock, harness, publisher) = (bus.Clock, bus.Harness, bus.Publisher);

        var first = publisher.PublishAsync([Status("wamid.1", "sent")], CancellationToken.None);
        await PassWindowAsync(clock, first);
        var second = publisher.PublishAsync([Status("wamid.1", "read")], CancellationToken.None);
        await PassWindowAsync(clock, second);

        Assert.That(harness.Published.Select<ProviderStatusesReceived>().Count(), Is.EqualTo(2));
    }

    [Test]
    public async Task PublishAsync_WhenAWebhookStopsWaitingBeforeThePublish_LeavesItsStatusesOut()
    {
        await using var bus = await Bus.StartAsync();
        var (clock, harness, publisher) = (bus.Clock, bus.Harness, bus.Publisher);
        using var answered = new CancellationTokenSource();

        var givenUp = publisher.PublishAsync([Status("wamid.1", "sent")], answered.Token);
        await answered.CancelAsync();
        var waiting = publisher.PublishAsync([Status("wamid.2", "sent")], CancellationToken.None);
        await PassWindowAsync(clock, waiting);

        Assert.That(givenUp.IsCanceled, Is.True);
        var published = harness.Published.Select<ProviderStatusesReceived>().ToList();
        Assert.That(published.SelectMany(p => p.Context.Message.Statuses).Select(s => s.ProviderMessageId),
            Is.EqualTo(new[] { "wamid.2" }), "a webhook answered 503 is delivered again by Meta, not published late");
    }

    /// <summary>
    /// Moves the clock past the window, then on a millisecond at a time until <paramref name="published"/> completes: the
    /// publisher's timer starts on another thread, maybe only after the first move.
    /// </summary>
    private static async Task PassWindowAsync(FakeTimeProvider clock, Task published)
    {
        clock.Advance(Window);
        await Poll.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            return Task.FromResult(published.IsCompleted);
        }, done => done, Guard);
        await published;
    }

    private static ProviderStatus Status(string id, string status) => new(id, status, DateTime.UnixEpoch, null, null);

    /// <summary>A started in-memory bus and a publisher on it whose window runs on a fake clock.</summary>
    private sealed class Bus(ServiceProvider services, ITestHarness harness, FakeTimeProvider clock) : IAsyncDisposable
    {
        public FakeTimeProvider Clock => clock;

        public ITestHarness Harness => harness;

        public StatusPublisher Publisher { get; } =
            new(harness.Bus, Options.Create(new WebhookOptions { PublishWindow = Window }), clock);

        public static async Task<Bus> StartAsync()
        {
            var services = new ServiceCollection().AddMassTransitTestHarness().BuildServiceProvider(validateScopes: true);
            var harness = services.GetRequiredService<ITestHarness>();
            await harness.Start();
            return new Bus(services, harness, new FakeTimeProvider());
        }

        public async ValueTask DisposeAsync()
        {
            await Publisher.DisposeAsync();
            await services.DisposeAsync();
        }
    }
}
