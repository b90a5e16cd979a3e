using System.Globalization;
using Dapper;
using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Statuses;
using GovSg.Dispatcher.Sweeping;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration;

/// <summary>
/// The status consumer on MassTransit's in-memory test harness, with its definition's batching, against the test
/// database only: no broker, no Dispatcher host. The batch window is 1 s instead of 20 ms, so that deliveries published
/// together share a batch however busy the machine is.
/// </summary>
public sealed class ProviderStatusConsumerTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Consume_AppliesTrackedStatusesAndSkipsTheOthers()
    {
        var (id, providerMessageId) = await AcceptedMessageAsync();
        await using var services = HarnessServices();
        var harness = services.GetRequiredService<ITestHarness>();
        await harness.Start();
        var now = DateTime.UtcNow;

        await harness.Bus.Publish(new ProviderStatusesReceived(
        [
            new ProviderStatus(providerMessageId, "delivered", now, null, null),
            new ProviderStatus(providerMessageId, "deleted", now, null, null),
        ]));
        await harness.Bus.Publish(new ProviderStatusesReceived([new ProviderStatus(providerMessageId, "read", now, null, null)]));

        var status = await Poll.UntilAsync(() => StatusAsync(id), s => s == "READ");
        Assert.That(status, Is.EqualTo("READ"));
        Assert.That(await harness.GetConsumerHarness<ProviderStatusConsumer>().Consumed.Any<Batch<ProviderStatusesReceived>>(),
            Is.True);
        Assert.That(await harness.Published.Any<Fault<ProviderStatusesReceived>>(), Is.False, "an untracked status is skipped, not a fault");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Consume_AStatusThatCannotBeApplied_AppliesTheOthersAndFaultsOnlyForItsDelivery(bool inOneDelivery)
    {
        // A value PostgreSQL refuses (a NUL in the provider's id: SQLSTATE 22021) fails the statement that applies the
        // whole batch, and the batch goes to the error queue. The statuses that came with it must not wait there too,
        // whether in other deliveries of the batch or in the same one (the Api merges the statuses of webhooks that
        // queue up, from other agencies too).
        var (id, providerMessageId) = await AcceptedMessageAsync();
        await using var services = HarnessServices();
        var harness = services.GetRequiredService<ITestHarness>();
        await harness.Start();
        var now = DateTime.UtcNow;
        var bad = new ProviderStatus("wamid.\0bad", "delivered", now, null, null);
        var good = new ProviderStatus(providerMessageId, "read", now, null, null);

        if (inOneDelivery)
        {
            await harness.Bus.Publish(new ProviderStatusesReceived([bad, good]));
        }
        else
        {
            await harness.Bus.PublishBatch(new[] { new ProviderStatusesReceived([bad]), new ProviderStatusesReceived([good]) });
        }

        var status = await Poll.UntilAsync(() => StatusAsync(id), s => s == "READ", TimeSpan.FromSeconds(10));
        var batches = harness.GetConsumerHarness<ProviderStatusConsumer>().Consumed;
        Assert.That(await batches.Any<Batch<ProviderStatusesReceived>>(b => b.Context.Message.Length == (inOneDelivery ? 1 : 2)),
            Is.True, "the deliveries came in one batch");
        Assert.That(status, Is.EqualTo("READ"), "the good status was applied");
        Assert.That(await harness.Published.Any<Fault<ProviderStatusesReceived>>(), Is.True, "the bad one is kept as a fault");
    }

    private static ServiceProvider HarnessServices() => new ServiceCollection()
        .AddSingleton(Env.Database)
        .AddSingleton(TimeProvider.System)
        .AddSingleton(Options.Create(new StatusOptions()))
        .AddSingleton<DispatcherMetrics>()
        .AddSingleton<StatusStore>()
        .AddSingleton<SweepSchedule>()
        .AddSingleton<StatusApplier>()
        .AddLogging()
        .AddMassTransitTestHarness(bus => bus.AddConsumer<ProviderStatusConsumer, ProviderStatusConsumerDefinition>(
            consumer => consumer.Options<BatchOptions>(batch => batch.SetTimeLimit(TimeSpan.FromSeconds(1)))))
        .BuildServiceProvider(validateScopes: true);

    /// <summary>A message the provider accepted and reported nothing on yet, with the provider's id for it.</summary>
    private static async Task<(long Id, string ProviderMessageId)> AcceptedMessageAsync()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
        var (_, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(local));
        var id = body.Str("id");
        await MessageJson.WaitForStatusAsync(user.Client, id, "ACCEPTED");
        await using var connection = await Env.Database.OpenConnectionAsync();
        var messageId = long.Parse(id, CultureInfo.InvariantCulture);
        var providerMessageId = await connection.ExecuteScalarAsync<string>(
            "SELECT provider_message_id FROM messages WHERE id = @messageId", new { messageId });
        return (messageId, providerMessageId!);
    }

    private static async Task<string> StatusAsync(long id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<string>("SELECT status::text FROM messages WHERE id = @id", new { id }) ?? "";
    }
}
