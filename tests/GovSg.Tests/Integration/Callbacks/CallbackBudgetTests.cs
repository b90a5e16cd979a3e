using System.Globalization;
using Dapper;

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
        // The budget (24 h in production) shortened to 2 s, so "a day later" is a few seconds later here.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["Callbacks:Budget"] = "00:00:02" });
        try
        {
            await using var receiver = await CallbackReceiver.StartAsync();
            var user = await Env.CreateUserAsync();
            await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);
            await using (var connection = await Env.Database.OpenConnectionAsync())
            {
                // The endpoint failed continuously and is backed off as a whole for the next 8 s (in production: up to
                // an hour per pause, for as long as it stays down).
                await connection.ExecuteAsync("""
                    UPDATE callback_settings SET consecutive_failures = 20, paused_until = now() + interval '8 seconds'
                    WHERE user_id = @Id
                    """, new { user.Id });
            }

            var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local));
            Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
            await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "READ");

            // Every event is given up within a give-up round of its budget, while the endpoint is still paused.
            var settings = await Poll.UntilAsync(
                async () => (await MessageJson.GetAsync(user.Client, "v1/callback-settings")).Body,
                s => s.GetProperty("pending").GetInt64() == 0, TimeSpan.FromSeconds(7));
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

            Assert.That(settings.Str("last_failure_reason"), Does.Match(@"^\d+ event\(s\) not delivered within 2 s: given up$"));
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
}
