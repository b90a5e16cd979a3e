using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Dapper;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// A stolen key has queued messages (SPEC §7): disabling the user stops every Dispatcher from sending them, and
/// <c>admin user disable --cancel-pending</c> ends them as ERROR <c>cancelled</c>.
/// </summary>
[NonParallelizable]
public sealed class DisabledUserTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Dispatcher_WhenTheUserIsDisabledBetweenAttempts_DoesNotSendTheMessage()
    {
        // The retry 8 s after the first attempt's pair-rate error (within a budget that allows it): time for the
        // operator's disable however busy the machine, and the test watches past it.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?>
        {
            ["Retry:PairRateDelay"] = "00:00:08",
            ["Retry:Budget"] = "00:01:00",
        });
        try
        {
            var user = await Env.CreateUserAsync(grants: [3]);
            var (local, digits) = TestRecipients.Next();
            await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 400, code = 131056 }, fail_times = 1 });
            var ids = await QueueAsync(user, local, 1);
            await WaitForFirstAttemptsAsync(ids);

            Assert.That((await AdminCliTests.RunAsync("admin", "user", "disable", "--email", user.Email)).Code, Is.Zero);
            var sends = await Poll.UntilAsync(() => Env.SimulatorSendsAsync(digits), s => s.Count > 0, TimeSpan.FromSeconds(12));

            Assert.That(sends, Is.Empty, "a message of a disabled user was sent");
            Assert.That(await StatusesAsync(ids), Is.All.EqualTo(("UNSENT", (string?)null)));
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    /// <summary>
    /// A batch's messages are claimed together and then called one by one at the number's pace, seconds apart. Those whose
    /// turn comes after their user was disabled are not called: handed back, they stay unsent.
    /// </summary>
    [Test]
    public async Task Dispatcher_WhenTheUserIsDisabledWhileClaimedMessagesWaitForTheirTurns_CallsNoMoreOfThem()
    {
        // The number's pace cut to one call a second: the batch is claimed at once and called over 10 s.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:MessagesPerSecond"] = "1" });
        try
        {
            var user = await Env.CreateUserAsync(grants: [3]);
            var items = Enumerable.Range(0, 10).Select(_ => new { recipient = TestRecipients.Next().Local, template_id = 3 });
            var (response, body) = await BatchSendTests.PostAsync(user.Client,
                System.Text.Json.JsonSerializer.Serialize(new { messages = items }));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
            var ids = body.GetProperty("data").EnumerateArray()
                .Select(e => long.Parse(e.GetProperty("message").Str("id"), CultureInfo.InvariantCulture)).ToArray();
            var first = await Poll.UntilAsync(() => CountAsync(ids, "status <> 'UNSENT'"), n => n > 0, TimeSpan.FromSeconds(10));
            Assert.That(first, Is.GreaterThan(0), "the first of the batch is called");

            Assert.That((await AdminCliTests.RunAsync("admin", "user", "disable", "--email", user.Email)).Code, Is.Zero);
            // Until the last turn of the batch is over: its call's outcome, or its hand-back, closes its call.
            await Poll.UntilAsync(() => CountAsync(ids, "call_open"), n => n == 0, TimeSpan.FromSeconds(15));

            var called = await CountAsync(ids, "status <> 'UNSENT'");
            var unsent = await StatusesAsync(ids);
            Assert.That(called, Is.LessThan(ids.Length), "every message of the batch was called after its user was disabled");
            Assert.That(unsent.Count(m => m == ("UNSENT", (string?)null)), Is.EqualTo(ids.Length - called));
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    [Test]
    public async Task DisableWithCancelPending_EndsTheUsersPendingMessagesAsCancelled()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 400, code = 131056 }, fail_times = 1_000 });
        var ids = await QueueAsync(user, local, 3);
        await WaitForFirstAttemptsAsync(ids);

        var (code, output) = await AdminCliTests.RunAsync("admin", "user", "disable", "--cancel-pending", "--email", user.Email);
        var (refused, _) = await MessageJson.PostRawAsync(user.Client, $$"""{"recipient":"{{local}}","template_id":3}""");
        // On a busy machine an attempt may still be in its call, or held to reconcile one that timed out: such a message
        // is counted apart and ends cancelled once that is over.
        var ended = await Poll.UntilAsync(() => StatusesAsync(ids), s => s.All(m => m.Status != "UNSENT"), TimeSpan.FromSeconds(15));
        var counts = Regex.Match(output, @"(\d+) pending message\(s\) cancelled(?:\n(\d+) more in a provider call)?");

        Assert.That(code, Is.Zero);
        Assert.That(counts.Success, Is.True, output);
        Assert.That(int.Parse(counts.Groups[1].Value, CultureInfo.InvariantCulture)
                    + (counts.Groups[2].Success ? int.Parse(counts.Groups[2].Value, CultureInfo.InvariantCulture) : 0),
            Is.EqualTo(ids.Length), output);
        Assert.That(ended, Is.All.EqualTo(("ERROR", (string?)"cancelled")));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task DisableWithCancelPending_WhileAMessageIsHeldToReconcile_CancelsItOnceTheHoldEnds()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        var (local, digits) = TestRecipients.Next();
        // The provider takes the message but answers after the Dispatcher's timeout and reports no status: the message is
        // held to reconcile the call, and no status adopts it.
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 2_500, delay_times = 1, webhooks = "none" });
        var ids = await QueueAsync(user, local, 1);
        var held = await Poll.UntilAsync(() => CountAsync(ids, "held_attempt = attempts AND NOT call_open"), n => n == 1,
            TimeSpan.FromSeconds(10));
        Assert.That(held, Is.EqualTo(1), "the message is held to reconcile its timed-out call");

        var (code, output) = await AdminCliTests.RunAsync("admin", "user", "disable", "--cancel-pending", "--email", user.Email);
        var duringHold = await StatusesAsync(ids);
        // Enabling the user again does not undo the operator's cancellation.
        Assert.That((await AdminCliTests.RunAsync("admin", "user", "enable", "--email", user.Email)).Code, Is.Zero);
        var ended = await Poll.UntilAsync(() => StatusesAsync(ids), s => s.All(m => m.Status != "UNSENT"), TimeSpan.FromSeconds(15));

        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("0 pending message(s) cancelled").And.Contain("1 more in a provider call, or held"));
        Assert.That(duringHold, Is.All.EqualTo(("UNSENT", (string?)null)), "a held message is not cancelled before its hold ends");
        Assert.That(ended, Is.All.EqualTo(("ERROR", (string?)"cancelled")));
        Assert.That(await Env.SimulatorSendsAsync(digits), Has.Count.EqualTo(1), "sent once, by the call that timed out");
    }

    [Test]
    public async Task Sweep_WhileTheUserIsDisabled_ParksTheirMessagesAndEnablingSendsThem()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        var (local, digits) = TestRecipients.Next();
        // One message was never claimed (its command was never published), one waits for a retry (its first attempt hit
        // the pair rate): the sweep's two takes. Each falls due only after the user is disabled.
        var api = Env.StartApiWithoutCommands(new Dictionary<string, string?> { ["Messages:PickUpDeadline"] = "00:00:05" });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", user.Key);
        await using var tap = await BrokerTap.StartAsync("GovSg.Contracts:SendMessages");
        var neverClaimed = await QueueAsync(user with { Client = client }, local, 1);
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 400, code = 131056 }, fail_times = 1 });
        var retrying = await QueueAsync(user, local, 1);
        await WaitForFirstAttemptsAsync(retrying);
        long[] ids = [.. neverClaimed, .. retrying];

        Assert.That((await AdminCliTests.RunAsync("admin", "user", "disable", "--email", user.Email)).Code, Is.Zero);
        // Both fall due within 5 s; unparked, each would then be published every 2 s (the tests' pick-up deadline).
        await Task.Delay(TimeSpan.FromSeconds(8));
        var publishedWhileDisabled = (await tap.MessageIdsAsync()).Intersect(ids).Count();
        Assert.That(await CountAsync(ids, "status = 'UNSENT' AND sweep_at >= expires_at"), Is.EqualTo(ids.Length),
            "parked until they expire");

        Assert.That((await AdminCliTests.RunAsync("admin", "user", "enable", "--email", user.Email)).Code, Is.Zero);
        var sent = await Poll.UntilAsync(() => StatusesAsync(ids), s => s.All(m => m.Status != "UNSENT"), TimeSpan.FromSeconds(15));

        Assert.That(publishedWhileDisabled, Is.Zero, "a disabled user's messages were published again and again");
        Assert.That(sent.Select(m => m.Status), Is.All.Not.EqualTo("UNSENT"), "enabled again, the user's messages are sent");
    }

    private static async Task<long[]> QueueAsync(TestUser user, string recipient, int count)
    {
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var (response, message) = await MessageJson.PostRawAsync(user.Client, $$"""{"recipient":"{{recipient}}","template_id":3}""");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            ids.Add(long.Parse(message.Str("id"), System.Globalization.CultureInfo.InvariantCulture));
        }

        return [.. ids];
    }

    private static async Task WaitForFirstAttemptsAsync(long[] ids)
    {
        var tried = await Poll.UntilAsync(() => CountAsync(ids, "attempts > 0 AND status = 'UNSENT'"), n => n == ids.Length,
            TimeSpan.FromSeconds(20));
        Assert.That(tried, Is.EqualTo(ids.Length), "every message failed its first attempt and waits for a retry");
    }

    private static async Task<long> CountAsync(long[] ids, string condition)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM messages WHERE id = ANY(@ids) AND {condition}", new { ids });
    }

    private static async Task<IReadOnlyList<(string Status, string? Code)>> StatusesAsync(long[] ids)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return [.. await connection.QueryAsync<(string, string?)>(
            "SELECT status::text, error_code FROM messages WHERE id = ANY(@ids)", new { ids })];
    }
}
