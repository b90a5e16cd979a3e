using System.Globalization;
using Dapper;
using GovSg.Dispatcher.Callbacks;

namespace GovSg.Tests.Integration.Callbacks;

/// <summary>
/// SPEC §11.1: failed deliveries are "retried … for 24 h", and an endpoint failing continuously is "backed off as a
/// whole" (paused). The events that pile up during a pause are given up once their 24 h are over too: not kept without
/// bound while the endpoint stays dead, nor delivered days late when it answers again. (Found by an outside review.)
/// </summary>
public sealed class CallbackBudgetTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task EventsOlderThanTheBudget_WhileTheEndpointIsPaused_AreGivenUpNotDeliveredLater()
    {
        // The budget (24 h in production) shortened to 3 s, so "a day later" is a few seconds later here.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["Callbacks:Budget"] = "00:00:03" });
        try
        {
            await using var receiver = await CallbackReceiver.StartAsync();
            var user = await Env.CreateUserAsync();
            await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);
            await using (var connection = await Env.Database.OpenConnectionAsync())
            {
                // The endpoint failed continuously and is backed off as a whole (in production: up to an hour per
                // pause, for as long as it stays down).
                await connection.ExecuteAsync("""
                    UPDATE callback_settings SET consecutive_failures = 20, paused_until = now() + interval '1 minute'
                    WHERE user_id = @Id
                    """, new { user.Id });
            }

            var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local));
            Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
            await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "READ");

            // Every event is given up within a give-up round of its budget, while the endpoint is still paused; the reason is
            // written just after the events go.
            var settings = await Poll.UntilAsync(
                async () => (await MessageJson.GetAsync(user.Client, "v1/callback-settings")).Body,
                s => s.GetProperty("pending").GetInt64() == 0 && s.Str("last_failure_reason") != "", TimeSpan.FromSeconds(20));
            // The pause ends (as a probe that got through would end it); a new event then shows the endpoint is reached.
            await using (var connection = await Env.Database.OpenConnectionAsync())
            {
                await connection.ExecuteAsync(
                    "UPDATE callback_settings SET consecutive_failures = 0, paused_until = NULL WHERE user_id = @Id", new { user.Id });
            }

            var (second, secondBody) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local));
            Assert.That((int)second.StatusCode, Is.EqualTo(201), secondBody.ToString());
            await Poll.UntilAsync(() => Task.FromResult(receiver.Received.Count), n => n >= 1, TimeSpan.FromSeconds(10));
            await Task.Delay(TimeSpan.FromSeconds(1));

            Assert.That(settings.GetProperty("pending").GetInt64(), Is.Zero, "every event of the first message given up");
            Assert.That(settings.Str("last_failure_reason"), Does.Match(@"^\d+ event\(s\) not delivered within 3 s: given up$"));
            var late = receiver.Received.Where(c => c.Body.GetProperty("data").Str("id") == body.Str("id"))
                .Select(c => (c.Status, Age: DateTimeOffset.FromUnixTimeSeconds(c.SignatureParts().T)
                    - DateTimeOffset.Parse(c.Body.Str("created_at"), CultureInfo.InvariantCulture))).ToList();
            Assert.That(late, Is.Empty,
                "events whose budget ran out while the endpoint was paused were delivered anyway: " +
                string.Join(", ", late.Select(a => $"{a.Status} at age {a.Age.TotalSeconds:0.#} s")));
            Assert.That(receiver.Received.Select(c => c.Body.GetProperty("data").Str("id")), Has.Member(secondBody.Str("id")));
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    /// <summary>
    /// An event claimed within its budget that crosses it while its POST is under way is left to the attempt: a claim
    /// holds no row lock during the delivery, only its lease. Found by a review of the give-up: it deleted the event and
    /// told the agency "1 event(s) ... given up" for one the receiver then accepted.
    /// </summary>
    [Test]
    public async Task GiveUp_OfAnEventUnderDelivery_SkipsIt_AsItsCommentSays()
    {
        var user = await Env.CreateUserAsync();
        var options = new CallbackOptions { Budget = TimeSpan.FromSeconds(2) };
        // Far ahead of the running Dispatcher, which never touches the event; created 1 s before the claim, well within
        // its budget when claimed.
        var claimAt = DateTime.UtcNow.AddDays(3);
        var eventId = await CallbackRaceTests.PausedEventAsync(user.Id, claimAt.AddSeconds(-1));

        var store = new CallbackStore(Env.Database);
        var claimed = await store.ClaimAsync(new Dictionary<long, int>(), claimAt, claimAt - options.Budget,
            claimAt + options.Lease, 8, 5, 100, CancellationToken.None);
        var mine = claimed.Where(c => c.UserId == user.Id).ToList();
        Assert.That(mine.Select(c => c.Id), Is.EqualTo(new[] { eventId }), "the test's claim took the event");

        // 3 s later the POST is still under way (timeout 5 s), and the give-up round runs: the event is now 4 s old.
        var giveUpAt = claimAt.AddSeconds(3);
        await store.GiveUpAsync(giveUpAt - options.Budget, options.BudgetText, 10_000, giveUpAt, CancellationToken.None);
        long left;
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            left = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM status_events WHERE id = @eventId", new { eventId });
        }

        // The receiver then answers 200: the event was delivered.
        await store.DeliveredAsync([(mine[0], giveUpAt.AddSeconds(1))], CancellationToken.None);
        string? reason;
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            reason = await connection.ExecuteScalarAsync<string?>(
                "SELECT last_failure_reason FROM callback_settings WHERE user_id = @Id", new { user.Id });
        }

        Assert.Multiple(() =>
        {
            Assert.That(left, Is.EqualTo(1), "the give-up deleted an event whose delivery was under way (lease held)");
            Assert.That(reason, Is.Null, "the agency is told an event was given up, though the receiver accepted it");
        });
    }
}
