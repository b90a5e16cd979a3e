using System.Diagnostics;
using System.Net;
using Dapper;
using GovSg.Contracts;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace GovSg.Tests.Integration;

public sealed class SendPipelineTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Send_OfCommandsArrivingSpreadOut_WhileTheProviderIsSlow_CallsMoreAtOnceThanBatchesRunAtOnce()
    {
        // A Dispatcher runs MaxConcurrentSends ÷ 50 batches at once: 2 here. Single commands that arrive spread out,
        // every 15 ms, must gather into fuller batches while those are taken, rather than wait one to a batch: otherwise
        // it makes about 2 calls at a time, and sends at most 2 ÷ the provider's latency in seconds messages a second.
        const int count = 30;
        var slow = TimeSpan.FromMilliseconds(1_200);
        var recipients = Enumerable.Range(0, count).Select(_ => TestRecipients.Next()).ToList();
        foreach (var (_, digits) in recipients)
        {
            await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = (int)slow.TotalMilliseconds, webhooks = "none" });
        }

        // Stored without commands, which are then published one at a time (the Api would gather those that queue up
        // behind a publish into one command of many). The first goes to a prompt recipient: a Dispatcher's first call
        // goes alone (ProviderGate).
        var warmUp = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(1);
        var ids = await DeliveryGuaranteeTests.StoredOutOfTheSweepsReachAsync(recipients);
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:MaxConcurrentSends"] = "100" });
        try
        {
            var bus = Env.Api.Services.GetRequiredService<IBus>();
            await bus.Publish(new SendMessage(warmUp[0]));
            await Poll.UntilAsync(() => CountAcceptedAsync(warmUp), n => n == 1);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(i * 15) - clock.Elapsed is { Ticks: > 0 } wait ? wait : TimeSpan.Zero);
                await bus.Publish(new SendMessage(ids[i]));
            }

            await Poll.UntilAsync(() => CountAcceptedAsync(ids), n => n == count);
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }

        // A call is answered no sooner than `slow` after the simulator received it, so calls received within less than
        // that of each other were all in flight at once.
        var received = (await Task.WhenAll(recipients.Select(r => Env.SimulatorSendsAsync(r.Digits))))
            .Select(sends => sends.Single().ReceivedAt).Order().ToList();
        var mostAtOnce = received.Select((first, i) => received.Skip(i).Count(at => at - first < slow)).Max();
        Assert.That(mostAtOnce, Is.GreaterThanOrEqualTo(15),
            $"calls received within {slow.TotalMilliseconds} ms of each other; received at (ms): " + string.Join(",", received.Select(r => (int)(r - received[0]).TotalMilliseconds)));
    }

    private static async Task<long> CountAcceptedAsync(long[] ids)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE id = ANY(@ids) AND status = 'ACCEPTED'", new { ids });
    }

    [Test]
    public async Task Send_WhenValid_StoresUnsentThenReachesAcceptedWithTheProvidersId()
    {
        var user = await Env.CreateUserAsync();

        var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall("+65 9123 0001"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        Assert.That(body.Str("status"), Is.EqualTo("UNSENT"));
        Assert.That(body.Str("recipient"), Is.EqualTo("+6591230001"));
        Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/v1/transactional/govsg/{body.Str("id")}"));

        var message = await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "ACCEPTED", "SENT", "DELIVERED", "READ");
        Assert.That(message.Str("accepted_at"), Is.Not.Empty);

        var sends = await Env.SimulatorSendsAsync("6591230001");
        await using var connection = await Env.Database.OpenConnectionAsync();
        var providerId = await connection.ExecuteScalarAsync<string>(
            "SELECT provider_message_id FROM messages WHERE id = @id", new { id = long.Parse(body.Str("id"), System.Globalization.CultureInfo.InvariantCulture) });
        Assert.That(sends.Select(s => s.Wamid), Is.EqualTo(new[] { providerId }));
        Assert.That(sends[0].Template, Is.EqualTo("govsg_officer_call_v1"));
        Assert.That(sends[0].Parameters, Is.EqualTo(new[]
        {
            "Stanley Nguyen", "John Tan", "Reception Officer", "Open Government Products", "document collection", "1-3PM",
        }));
    }
}
