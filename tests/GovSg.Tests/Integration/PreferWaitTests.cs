using System.Diagnostics;
using System.Net;
using System.Text;
using Dapper;

namespace GovSg.Tests.Integration;

/// <summary>`Prefer: wait` and the per-user default wait: the old synchronous API's answer, when an agency needs it.</summary>
public sealed class PreferWaitTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Send_WithPreferWait_AnswersOnceTheMessageHasLeftUnsent()
    {
        var user = await Env.CreateUserAsync();

        var (response, message) = await PostAsync(user, TestRecipients.Next().Local, "wait=5");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(message.Str("status"), Is.AnyOf("ACCEPTED", "SENT", "DELIVERED", "READ"));
        Assert.That(message.Str("accepted_at"), Is.Not.Empty);
        Assert.That(response.Headers.GetValues("Preference-Applied").Single(), Is.EqualTo("wait=5"));
    }

    [Test]
    public async Task Send_WithPreferWait_WhenTheProviderIsSlow_AnswersUnsentWhenTheTimeIsUp()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        // No webhooks either: a status naming the call would accept the message before the provider's answer does.
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 1_800, webhooks = "none" });
        var clock = Stopwatch.StartNew();

        var (response, message) = await PostAsync(user, local, "wait=1");

        // Answered before the provider did (still UNSENT), and not before the time was up. No upper bound: a busy
        // machine makes answers late, and the waiter's timing is tested on a fake clock (Unit/StatusWaiterTests).
        Assert.That(message.Str("status"), Is.EqualTo("UNSENT"));
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(0.95)));
        Assert.That(response.Headers.GetValues("Preference-Applied").Single(), Is.EqualTo("wait=1"));
    }

    [Test]
    public async Task Duplicate_OfASendThatWaits_IsAnsweredWithoutWaitingForIt()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 12_000, webhooks = "none" });
        var first = PostAsync(user, local, "wait=10", "waits-long");
        // The duplicate must find the first request's message stored; otherwise it would store it and the first replay it.
        await Poll.UntilAsync(() => Env.CountMessagesAsync(user.Id), count => count == 1);
        var clock = Stopwatch.StartNew();

        var (duplicate, replayed) = await PostAsync(user, local, null, "waits-long");
        var answeredIn = clock.Elapsed;
        var (_, original) = await first;

        Assert.That(duplicate.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(duplicate.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(replayed.Str("id"), Is.EqualTo(original.Str("id")));
        Assert.That(answeredIn, Is.LessThan(TimeSpan.FromSeconds(6)), "not held for the first send's 10 s wait");
    }

    [TestCase("wait=0")]
    [TestCase("wait=11")]
    [TestCase("wait=soon")]
    public async Task Send_WithAMalformedPreference_IgnoresIt(string prefer)
    {
        var user = await Env.CreateUserAsync();

        var (response, message) = await PostAsync(user, TestRecipients.Next().Local, prefer);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(message.Str("status"), Is.EqualTo("UNSENT"));
        Assert.That(response.Headers.Contains("Preference-Applied"), Is.False);
    }

    [Test]
    public async Task Send_ForAUserWithADefaultWait_WaitsWithoutTheHeader()
    {
        var user = await Env.CreateUserAsync(defaultWait: 5);

        var (response, message) = await PostAsync(user, TestRecipients.Next().Local, null);

        Assert.That(message.Str("status"), Is.AnyOf("ACCEPTED", "SENT", "DELIVERED", "READ"));
        Assert.That(response.Headers.GetValues("Preference-Applied").Single(), Is.EqualTo("wait=5"));
    }

    // An agency whose operator set a default wait for the old API's behaviour, moving to asynchronous answers one route
    // at a time, asks for it per request (RFC 7240's respond-async) without waiting for the operator.
    [Test]
    public async Task Send_ForAUserWithADefaultWait_WhenItPrefersRespondAsync_AnswersAtOnce()
    {
        var user = await Env.CreateUserAsync(defaultWait: 5);
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 3_000, webhooks = "none" });

        var (response, message) = await PostAsync(user, local, "respond-async");

        Assert.That(message.Str("status"), Is.EqualTo("UNSENT"));
        Assert.That(response.Headers.Contains("Preference-Applied"), Is.False, "held for the default wait");
    }

    private static async Task<(HttpResponseMessage Response, System.Text.Json.JsonElement Body)> PostAsync(TestUser user,
        string recipient, string? prefer, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new StringContent($$"""{"recipient":"{{recipient}}","template_id":3}""", Encoding.UTF8, "application/json"),
        };
        if (prefer is not null)
        {
            request.Headers.TryAddWithoutValidation("Prefer", prefer);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await MessageJson.SendAsync(user.Client, request);
    }
}
