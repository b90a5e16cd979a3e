using System.Diagnostics;
using System.Net;
using System.Text;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// Requests waiting on one message (an idempotent replay with <c>Prefer: wait</c>) must each be woken when it leaves
/// UNSENT, whoever of them gives up first.
/// </summary>
public sealed class SharedWaitTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Replay_WaitingOnTheSameMessage_WhenTheFirstWaiterGivesUp_IsStillWokenWhenTheMessageIsAccepted()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 1_800, webhooks = "none" });
        var body = $$"""{"recipient":"{{local}}","template_id":3}""";
        var key = Guid.NewGuid().ToString("N");

        var first = SendAsync(user, body, key, "wait=1");
        // The replay must find the first request's message stored: a first request slowed down (the first of a fresh
        // process) would otherwise let the replay insert the message and the first one replay it.
        await Poll.UntilAsync(() => Env.CountMessagesAsync(user.Id), count => count == 1);
        var clock = Stopwatch.StartNew();
        var (replay, message) = await SendAsync(user, body, key, "wait=8");
        var waited = clock.Elapsed;

        Assert.That((await first).Body.Str("status"), Is.EqualTo("UNSENT"), "the first waiter gave up before the provider answered");
        Assert.That(replay.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(message.Str("status"), Is.Not.EqualTo("UNSENT"));
        Assert.That(waited, Is.LessThan(TimeSpan.FromSeconds(6)), "the replay slept until its own deadline");
    }

    private static async Task<(HttpResponseMessage Response, System.Text.Json.JsonElement Body)> SendAsync(TestUser user,
        string body, string idempotencyKey, string prefer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        request.Headers.TryAddWithoutValidation("Prefer", prefer);
        var result = await MessageJson.SendAsync(user.Client, request);
        Assert.That(result.Response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        return result;
    }
}
