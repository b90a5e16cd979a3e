using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using GovSg.Api.Extensions;
using GovSg.Api.Messages;
using GovSg.Contracts;
using GovSg.Tests.Integration;
using GovSg.Tests.Integration.Security;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Unit;

/// <summary>
/// The Api's command publisher against a broker that keeps its connection and reports healthy but confirms nothing, as
/// under a resource alarm or on a half-open connection.
/// </summary>
public sealed class CommandPublisherTests
{
    [Test]
    public async Task Publish_WhileTheBrokerConfirmsNothing_SendsWhatIsBeyondTheQueuesBoundToWaitAtOnce()
    {
        var bus = SilentBus.Create();
        using var lifetime = new Lifetime();
        using var publisher = Publisher(bus.Bus, lifetime, TimeSpan.FromSeconds(30));

        for (var id = 1L; id <= CommandPublisher.MaxQueuedSingles + 100; id++)
        {
            publisher.Publish(id, test: false);
        }

        // No publish ends within the test (its timeout is 30 s): only the first batches are in flight, and a later
        // command is published only by the drain, which a queue without a bound would never have handed it to.
        var drained = await Poll.UntilAsync(
            () => Task.FromResult(bus.PublishedIds.Any(id => id > CommandPublisher.MaxQueuedSingles)), seen => seen,
            TimeSpan.FromSeconds(5));
        Assert.That(drained, Is.True, "the commands beyond the bound are handed to the drain");
        lifetime.Stop();
        using var hostBudget = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await publisher.StopAsync(hostBudget.Token);
    }

    [Test]
    public async Task StopAsync_WhileTheBrokerConfirmsNothing_GivesUpAfterTwiceThePublishTimeout()
    {
        var bus = SilentBus.Create();
        using var lifetime = new Lifetime();
        var publishTimeout = TimeSpan.FromMilliseconds(200);
        using var publisher = Publisher(bus.Bus, lifetime, publishTimeout);
        for (var id = 1L; id <= CommandPublisher.MaxQueuedSingles; id++)
        {
            publisher.Publish(id, test: false);
        }

        // As the host stops it: stopping is signalled first, and the host gives its hosted services far longer.
        lifetime.Stop();
        using var hostBudget = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var stopwatch = Stopwatch.StartNew();
        await publisher.StopAsync(hostBudget.Token);

        // A thousand commands at 40 a publish timeout would take 5 s; the host's budget is not this publisher's to spend.
        Assert.That(stopwatch.Elapsed, Is.LessThan(publishTimeout * 2 + TimeSpan.FromSeconds(2)));
        Assert.That(hostBudget.IsCancellationRequested, Is.False);
    }

    // A test's host is stopped both by its owner (WebApplicationFactory) and by its own entry point, which disposes the
    // services once its stop is done, possibly before the owner's stop reaches this publisher.
    [Test]
    public async Task StopAsync_AgainAfterTheHostDisposedIt_SharesTheFirstStop()
    {
        var bus = SilentBus.Create();
        using var lifetime = new Lifetime();
        var publisher = Publisher(bus.Bus, lifetime, TimeSpan.FromMilliseconds(200));
        publisher.Publish(1, test: false);
        lifetime.Stop();
        var first = publisher.StopAsync(CancellationToken.None);
        await first;
        publisher.Dispose();

        var second = publisher.StopAsync(CancellationToken.None);

        Assert.That(second, Is.SameAs(first));
        await second;
    }

    // Stopped halfway through the first publishes' timeout, the deadline (twice the timeout) falls in the middle of a
    // later publish: the commands it carries, and those still queued behind it, are handed over with the rest.
    [Test]
    public async Task StopAsync_WhileTheBrokerConfirmsNothing_HandsEveryUnconfirmedCommandToTheSweep()
    {
        var bus = SilentBus.Create();
        using var lifetime = new Lifetime();
        using var logs = new LogCapture();
        var publishTimeout = TimeSpan.FromMilliseconds(400);
        using var publisher = Publisher(bus.Bus, lifetime, publishTimeout, logs);
        for (var id = 1L; id <= 200; id++)
        {
            publisher.Publish(id, test: false);
        }

        await Task.Delay(publishTimeout / 2);
        lifetime.Stop();
        await publisher.StopAsync(CancellationToken.None);

        // The database is away here too, so the hand-over reports what it could not hand over: every command.
        Assert.That(logs.Lines.Where(line => line.Contains("send command(s)", StringComparison.Ordinal)),
            Is.EqualTo(new[] { "200 send command(s) were not published before the Api stopped, nor handed to the sweeper" })
                .Using<string, string>((line, expected) => line.StartsWith(expected, StringComparison.Ordinal)));
    }

    [Test]
    public async Task Publish_SinglesOfBothKeyTypesQueuedTogether_GoInCommandsOfTheirOwnKind()
    {
        var bus = SilentBus.Create();
        bus.ConfirmAfter = TimeSpan.FromMilliseconds(50);
        using var lifetime = new Lifetime();
        using var publisher = Publisher(bus.Bus, lifetime, TimeSpan.FromSeconds(30));

        for (var id = 1L; id <= 200; id++)
        {
            publisher.Publish(id, test: id % 2 == 0);
        }

        await Poll.UntilAsync(() => Task.FromResult(bus.PublishedIds.Count), count => count == 200, TimeSpan.FromSeconds(10));
        var commands = bus.Commands.ToList();

        Assert.That(bus.PublishedIds.Order(), Is.EqualTo(Enumerable.Range(1, 200).Select(id => (long)id)));
        Assert.That(commands, Has.Some.Matches<(long[] Ids, bool Test)>(c => c.Ids.Length > 1), "singles queued up together");
        Assert.That(commands.Where(c => c.Ids.Any(id => (id % 2 == 0) != c.Test)), Is.Empty,
            "a test key's message only in a test command, a live one only in a live command");
        lifetime.Stop();
        await publisher.StopAsync(CancellationToken.None);
    }

    private static CommandPublisher Publisher(IBusControl bus, IHostApplicationLifetime lifetime, TimeSpan publishTimeout,
        LogCapture? logs = null)
    {
        var options = LinkedRabbitMqOptions.For(typeof(CommandPublisher), new Dictionary<string, string?>
        {
            ["RabbitMq:PublishTimeout"] = publishTimeout.ToString("c", CultureInfo.InvariantCulture),
        });
        return (CommandPublisher)Activator.CreateInstance(typeof(CommandPublisher), bus, new MessageStore(TestSystem.NoDatabase), options,
            Options.Create(new MessagesOptions()), new ApiMetrics(), lifetime,
            logs is null ? NullLogger<CommandPublisher>.Instance : new Logger<CommandPublisher>(new LoggerFactory([logs])))!;
    }

    private sealed class Lifetime : IHostApplicationLifetime, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stop();

        public void Stop() => _stopping.Cancel();

        public void Dispose() => _stopping.Dispose();
    }

    /// <summary>
    /// A bus that reports healthy and whose publishes never complete (or complete after <see cref="ConfirmAfter"/>); it
    /// records the ids each one carried.
    /// </summary>
    public class SilentBus : DispatchProxy
    {
        public ConcurrentBag<long> PublishedIds { get; } = [];

        /// <summary>Each command published: its ids and whether it said they are a test key's.</summary>
        public ConcurrentBag<(long[] Ids, bool Test)> Commands { get; } = [];

        public TimeSpan? ConfirmAfter { get; set; }

        public static SilentBus Create() => (SilentBus)(object)Create<IBusControl, SilentBus>();

        public IBusControl Bus => (IBusControl)(object)this;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            switch (targetMethod?.Name)
            {
                case nameof(IBusControl.CheckHealth):
                    return BusHealthResult.Healthy("reachable", new Dictionary<string, EndpointHealthResult>());
                case nameof(IBus.ConnectReceiveEndpointObserver):
                    return new Handle();
                case nameof(IBus.Publish) when args![0] is SendMessage single:
                    return Published([single.MessageId], single.Test);
                case nameof(IBus.Publish) when args![0] is SendMessages many:
                    return Published(many.MessageIds, many.Test);
                default:
                    throw new NotSupportedException(targetMethod?.Name);
            }
        }

        private Task Published(long[] ids, bool test)
        {
            Commands.Add((ids, test));
            foreach (var id in ids)
            {
                PublishedIds.Add(id);
            }

            return ConfirmAfter is { } after ? Task.Delay(after) : new TaskCompletionSource().Task;
        }

        private sealed class Handle : ConnectHandle
        {
            public void Disconnect()
            {
            }

            public void Dispose()
            {
            }
        }
    }
}
