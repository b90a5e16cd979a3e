using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Dapper;
using GovSg.Dispatcher.Callbacks;
using GovSg.Dispatcher.Extensions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration.Callbacks;

/// <summary>Status events reach agency endpoints signed, retried and isolated as SPEC §11.1 says, through the real system.</summary>
public sealed class CallbackDeliveryTests
{
    private static readonly string[] Lifecycle = ["ACCEPTED", "SENT", "DELIVERED", "READ"];

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Lifecycle_DeliversEachStatusOnce_SignedAndShapedAsTheSpecSays()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await Env.CreateUserAsync();
        var secret = await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);

        var messageId = await SendAsync(user);
        var received = await WaitForLifecycleAsync(receiver, messageId);

        foreach (var callback in received)
        {
            Assert.That(callback.IsSignedWith(secret), Is.True, callback.Signature);
            Assert.That(callback.SignatureParts().T, Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(300));
            Assert.That(callback.KeyType, Is.EqualTo("live"));
            Assert.That(callback.ContentType, Is.EqualTo("application/json"));
            Assert.That(callback.Body.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "id", "type", "created_at", "data" }));
            Assert.That(callback.Body.Str("id"), Is.EqualTo(callback.EventId));
            Assert.That(callback.Body.Str("type"), Is.EqualTo("message.status_changed"));
            Assert.That(callback.HeaderNames.Select(h => h.ToLowerInvariant()),
                Has.None.AnyOf("traceparent", "tracestate", "baggage", "request-id"), "no internal trace context sent out");
        }

        var settings = await Poll.UntilAsync(() => MessageJson.GetAsync(user.Client, "v1/callback-settings"),
            s => s.Body.Str("last_success_at").Length > 0);
        Assert.That(settings.Body.Str("last_success_at"), Is.Not.Empty);
    }

    [Test]
    public async Task TestKeyMessages_CallbacksSayKeyTypeTest()
    {
        // SPEC §11.1, §11.2: a receiver tells a test key's simulated outcomes from real ones by X-GovSg-Key-Type.
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await Env.CreateUserAsync();
        var secret = await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);
        var (testKey, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");

        var testMessage = await SendAsync(user with { Client = Env.Client(testKey) });
        var liveMessage = await SendAsync(user);
        var test = await WaitForLifecycleAsync(receiver, testMessage);
        var live = await WaitForLifecycleAsync(receiver, liveMessage);

        Assert.That(test.Select(c => c.KeyType), Is.All.EqualTo("test"));
        Assert.That(test.Select(c => c.IsSignedWith(secret)), Is.All.True);
        Assert.That(live.Select(c => c.KeyType), Is.All.EqualTo("live"));
    }

    // SPEC §8: "Graceful shutdown: in-flight work finishes or is returned to the queue". A POST under way when its
    // Dispatcher stops is finished and its outcome recorded, not cut off after the receiver may have acted on it.
    [Test]
    public async Task Shutdown_WithAPostUnderWay_FinishesItAndRecordsItDelivered()
    {
        // The tests' 1 s callback timeout would make a loaded machine's slow answer a failed attempt.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["Callbacks:Timeout"] = "00:00:05" });
        var answering = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await CallbackReceiver.StartAsync(async (_, _) =>
        {
            answering.TrySetResult();
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            return Results.Ok();
        });
        var user = await Env.CreateUserAsync();
        await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);

        var eventId = await CallbackRaceTests.EventAsync(user.Id, DateTime.UtcNow);
        await answering.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Env.RestartDispatcherAsync(); // the stop under test; the next one has the tests' settings again

        await using var connection = await Env.Database.OpenConnectionAsync();
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM status_events WHERE id = @eventId", new { eventId }),
            Is.Zero, "the event is recorded delivered, not left to be delivered again");
        Assert.That(receiver.Received.Count(r => r.EventId == eventId.ToString(CultureInfo.InvariantCulture)), Is.EqualTo(1));
    }

    [Test]
    public async Task Signature_VerifiesWithOpensslRunAsAProcess()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await Env.CreateUserAsync();
        var secret = await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);
        var messageId = await SendAsync(user);
        var callback = (await WaitForLifecycleAsync(receiver, messageId)).First();
        var (t, v1) = callback.SignatureParts();

        var start = new ProcessStartInfo("openssl", ["dgst", "-sha256", "-hmac", secret])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        using var openssl = Process.Start(start)!;
        await openssl.StandardInput.WriteAsync($"{t}.{callback.RawBody}");
        openssl.StandardInput.Close();
        var output = await openssl.StandardOutput.ReadToEndAsync();
        await openssl.WaitForExitAsync();

        // "SHA2-256(stdin)= <hex>" (OpenSSL 3) or "(stdin)= <hex>" (1.1).
        Assert.That(output.Trim().Split("= ")[^1], Is.EqualTo(v1[0]));
    }

    [Test]
    public async Task FlakyReceiver_503ThenTimeoutThenOk_GetsEveryEvent()
    {
        using var hang = new CancellationTokenSource();
        await using var receiver = await CallbackReceiver.StartAsync(async (_, attempt) =>
        {
            switch (attempt)
            {
                case 1:
                    return Results.StatusCode(503);
                case 2:
                    // Longer than Callbacks:Timeout (1 s in tests).
                    await Task.Delay(TimeSpan.FromSeconds(3), hang.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                    return Results.Ok();
                default:
                    return Results.Ok();
            }
        });
        var user = await Env.CreateUserAsync();
        await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);

        var messageId = await SendAsync(user);
        var attempts = await Poll.UntilAsync(() => Task.FromResult(AttemptsByStatus(receiver, messageId)),
            a => a.ContainsKey("READ") && a.Values.All(n => n >= 3), TimeSpan.FromSeconds(60));
        await hang.CancelAsync();

        Assert.That(attempts.Keys, Does.Contain("ACCEPTED").And.Contain("READ"));
        Assert.That(attempts.Values, Is.All.GreaterThanOrEqualTo(3), "503, then the timeout, then the 200");
    }

    [Test]
    public async Task Metrics_CountEachAttemptByOutcome()
    {
        // RUNBOOK.md: an agency's failing endpoint shows on the dashboards before the agency calls; the log lines alone
        // (a pause, a give-up) come a day late.
        var outcomes = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DispatcherMetrics.Name && instrument.Name == "govsg.callbacks.attempts")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                outcomes.AddOrUpdate($"{tag.Key}={tag.Value}", value, (_, n) => n + value);
            }
        });
        listener.Start();
        await using var receiver = await CallbackReceiver.StartAsync((_, attempt) =>
            Task.FromResult(attempt == 1 ? Results.StatusCode(503) : Results.Ok()));
        var user = await Env.CreateUserAsync();
        await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);

        var messageId = await SendThroughEveryStatusAsync(user);
        await Poll.UntilAsync(() => Task.FromResult(AttemptsByStatus(receiver, messageId)),
            a => a.Count == Lifecycle.Length && a.Values.All(n => n >= 2), TimeSpan.FromSeconds(60));
        // Counted once the outcome is recorded, just after the receiver has answered.
        var delivered = await Poll.UntilAsync(() => Task.FromResult(outcomes.GetValueOrDefault("outcome=delivered")),
            n => n >= Lifecycle.Length);

        Assert.That(outcomes.GetValueOrDefault("outcome=retry"), Is.GreaterThanOrEqualTo(Lifecycle.Length), "each event's 503");
        Assert.That(delivered, Is.GreaterThanOrEqualTo(Lifecycle.Length), "each event's 200");
    }

    [Test]
    public async Task NewUrl_AfterTheOldOneFailed_GetsThePendingEventsAtOnce()
    {
        // An agency fixes a broken endpoint: what waits goes to the new URL now, not after the old one's backoff (up to
        // an hour). Found by outside reviews: first the backoff stood, then the workers slept on until their next due
        // event, since only an event's insert woke them.
        await using var broken = await CallbackReceiver.StartAsync((_, _) => Task.FromResult(Results.StatusCode(503)));
        await using var fixedOne = await CallbackReceiver.StartAsync();
        var user = await Env.CreateUserAsync();
        await CallbackSettingsTests.SetUrlAsync(user.Client, broken.Url);
        var messageId = await SendThroughEveryStatusAsync(user);
        await Poll.UntilAsync(() => Task.FromResult(AttemptsByStatus(broken, messageId)), a => a.Count == 4);
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            // The backoff the failures would have reached by now.
            await connection.ExecuteAsync("UPDATE status_events SET next_attempt_at = now() + interval '1 hour' WHERE user_id = @Id",
                new { user.Id });
        }

        // Long enough for the workers to have gone to sleep until their next due event (the tests' backoff is at most 1 s).
        await Task.Delay(TimeSpan.FromSeconds(2));
        var (changed, _) = await CallbackSettingsTests.PutAsync(user.Client, JsonSerializer.Serialize(new { url = fixedOne.Url }));
        var delivered = await Poll.UntilAsync(() => Task.FromResult(AttemptsByStatus(fixedOne, messageId)),
            a => a.Count == 4, TimeSpan.FromSeconds(30));

        Assert.That(changed.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
        Assert.That(delivered.Keys, Is.EquivalentTo(new[] { "ACCEPTED", "SENT", "DELIVERED", "READ" }),
            "the events waiting on the old URL's backoff went to the new one at once");
    }

    [Test]
    public async Task Receiver400_IsNotRetried_AndTheFailureIsRecorded()
    {
        await using var receiver = await CallbackReceiver.StartAsync((_, _) => Task.FromResult(Results.StatusCode(400)));
        var user = await Env.CreateUserAsync();
        await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);

        var messageId = await SendAsync(user);
        await WaitForLifecycleAsync(receiver, messageId);
        var settings = await Poll.UntilAsync(() => MessageJson.GetAsync(user.Client, "v1/callback-settings"),
            s => s.Body.GetProperty("pending").GetInt64() == 0);
        // Long enough for a retry (first backoff ceiling 0.2 s in tests) to have come, had there been one.
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.That(AttemptsByStatus(receiver, messageId).Values, Is.All.EqualTo(1));
        Assert.That(settings.Body.Str("last_failure_reason"), Does.Contain("400"));
    }

    [Test]
    public async Task HangingEndpointWithItsCapFull_DoesNotStopAnotherUsersCallbacks()
    {
        using var hang = new CancellationTokenSource();
        await using var stuck = await CallbackReceiver.StartAsync(async (_, _) =>
        {
            await Task.Delay(Timeout.Infinite, hang.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            return Results.Ok();
        });
        await using var healthy = await CallbackReceiver.StartAsync();
        var a = await Env.CreateUserAsync();
        var b = await Env.CreateUserAsync();
        await CallbackSettingsTests.SetUrlAsync(a.Client, stuck.Url);
        await CallbackSettingsTests.SetUrlAsync(b.Client, healthy.Url);
        for (var i = 0; i < 10; i++)
        {
            await SendAsync(a);
        }

        var cap = new CallbackOptions().MaxInFlightPerUser;
        await Poll.UntilAsync(() => Task.FromResult(stuck.MaxInFlight), n => n >= cap);
        var messageId = await SendAsync(b);
        var delivered = await WaitForLifecycleAsync(healthy, messageId);
        var aPending = (await MessageJson.GetAsync(a.Client, "v1/callback-settings")).Body.GetProperty("pending").GetInt64();
        await hang.CancelAsync();

        Assert.That(stuck.MaxInFlight, Is.GreaterThanOrEqualTo(cap), "A's endpoint held a full cap of deliveries");
        Assert.That(delivered, Is.Not.Empty);
        Assert.That(aPending, Is.GreaterThan(0), "A's events are still waiting while B's got through");
    }

    [Test]
    public async Task RedirectingEndpoint_IsAFailedAttempt_AndTheRedirectIsNotFollowed()
    {
        await using var target = await CallbackReceiver.StartAsync();
        await using var redirecting = await CallbackReceiver.StartAsync((_, _) =>
            Task.FromResult(Results.Redirect(target.Url.ToString())));
        var user = await Env.CreateUserAsync();
        await CallbackSettingsTests.SetUrlAsync(user.Client, redirecting.Url);

        await SendAsync(user);
        var settings = await Poll.UntilAsync(() => MessageJson.GetAsync(user.Client, "v1/callback-settings"),
            s => s.Body.Str("last_failure_reason").Contains("302", StringComparison.Ordinal));

        Assert.That(settings.Body.Str("last_failure_reason"), Does.Contain("302"));
        Assert.That(redirecting.Received, Is.Not.Empty);
        Assert.That(target.Received, Is.Empty);
    }

    [Test]
    public async Task Delivery_ChecksTheAddressItConnectedTo_AndRefusesLoopbackWithoutTheLocalSetting()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        // A host name, so only the resolved address (not the URL as set) reveals loopback.
        var url = $"http://localhost:{receiver.Url.Port}/hook";
        var claimed = new ClaimedEvent { Id = 1, UserId = 1, KeyType = "live", Data = "{}", CreatedAt = DateTime.UtcNow, Url = url };
        var options = Options.Create(new CallbackOptions());

        using var strict = new HttpClient(CallbackClient.CreateHandler(allowLoopback: false));
        var refused = await new CallbackClient(strict, options, TimeProvider.System).PostAsync(claimed, ["secret"], CancellationToken.None);
        using var local = new HttpClient(CallbackClient.CreateHandler(allowLoopback: true));
        var allowed = await new CallbackClient(local, options, TimeProvider.System).PostAsync(claimed, ["secret"], CancellationToken.None);

        Assert.That(refused.StatusCode, Is.Null);
        Assert.That(refused.Description, Does.Contain("no address callbacks may reach"));
        Assert.That(allowed.StatusCode, Is.EqualTo(200), "the same endpoint is reachable when loopback is allowed");
        Assert.That(receiver.Received, Has.Count.EqualTo(1));
    }

    // A rotated secret signs too while it is valid, 24 h (SPEC §11.1); after that a leaked one must not verify anything.
    [TestCase(false)]
    [TestCase(true)]
    public async Task RotatedSecret_SignsEveryCallbackUntilItsOverlapEnds(bool overlapEnded)
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await Env.CreateUserAsync();
        var previous = await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);
        using var rotate = await user.Client.PostAsync("v1/callback-settings/rotate-secret", null);
        var current = JsonDocument.Parse(await rotate.Content.ReadAsStringAsync()).RootElement.Str("secret");
        if (overlapEnded)
        {
            await using var connection = await Env.Database.OpenConnectionAsync();
            await connection.ExecuteAsync(
                "UPDATE callback_secrets SET valid_until = now() - interval '1 second' WHERE user_id = @Id AND valid_until IS NOT NULL",
                new { user.Id });
        }

        var messageId = await SendAsync(user);
        var received = await WaitForLifecycleAsync(receiver, messageId);

        foreach (var callback in received)
        {
            Assert.That(callback.SignatureParts().V1, Has.Count.EqualTo(overlapEnded ? 1 : 2));
            Assert.That(callback.IsSignedWith(current), Is.True, callback.Signature);
            Assert.That(callback.IsSignedWith(previous), Is.EqualTo(!overlapEnded), callback.Signature);
        }
    }

    [Test]
    public async Task TwoDispatchers_ShareTheEvents_WithoutDeliveringOneTwice()
    {
        // Stopped at the end: other tests count the live Dispatchers.
        await using var second = await Env.StartDispatcherAsync();
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await Env.CreateUserAsync();
        await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await SendAsync(user));
        }

        await Poll.UntilAsync(() => Task.FromResult(receiver.Received.Count(r => r.Status == "READ")), n => n >= ids.Count,
            TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        var received = receiver.Received.ToList();
        Assert.That(received.Where(r => r.Status == "ACCEPTED").Select(r => r.MessageId), Is.EquivalentTo(ids));
        Assert.That(received.Select(r => r.EventId), Is.Unique, "no event delivered twice");
        Assert.That(received.Select(r => (r.MessageId, r.Status)), Is.Unique);
    }

    private static async Task<string> SendAsync(TestUser user)
    {
        var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
        return body.Str("id");
    }

    /// <summary>
    /// Waits for the message's READ callback, then a moment for stragglers. A SENT that arrives after DELIVERED only fills
    /// a timestamp and is no event (SPEC §4), so the statuses in between depend on the order the webhooks were applied.
    /// </summary>
    private static async Task<List<ReceivedCallback>> WaitForLifecycleAsync(CallbackReceiver receiver, string messageId)
    {
        await Poll.UntilAsync(() => Task.FromResult(Of(receiver, messageId)), r => r.Any(c => c.Status == "READ"),
            TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var received = Of(receiver, messageId);
        Assert.That(received.Select(r => r.Status), Does.Contain("ACCEPTED").And.Contain("READ"));
        Assert.That(received.Select(r => r.Status), Is.Unique.And.SubsetOf(Lifecycle), "one callback per status change");
        return received;
    }

    private static List<ReceivedCallback> Of(CallbackReceiver receiver, string messageId) =>
        receiver.Received.Where(r => r.MessageId == messageId).ToList();

    /// <summary>
    /// A message taken through every status, each provider status posted once the one before is applied: one event per
    /// status. With the simulator's webhooks a SENT applied after DELIVERED would be no event (SPEC §4).
    /// </summary>
    private static async Task<string> SendThroughEveryStatusAsync(TestUser user)
    {
        var (_, id, providerId) = await WebhookTests.AcceptedWithoutWebhooksAsync(user);
        foreach (var status in new[] { "sent", "delivered", "read" })
        {
            using var answer = await Webhooks.PostSignedAsync(Env.Client(null), [new WebhookStatus(providerId, status, DateTime.UtcNow)]);
            Assert.That(answer.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
            var message = await MessageJson.WaitForStatusAsync(user.Client, id, status.ToUpperInvariant());
            Assert.That(message.Str("status"), Is.EqualTo(status.ToUpperInvariant()));
        }

        return id;
    }

    private static Dictionary<string, int> AttemptsByStatus(CallbackReceiver receiver, string messageId) =>
        receiver.Received.Where(r => r.MessageId == messageId).GroupBy(r => r.Status)
            .ToDictionary(g => g.Key, g => g.Count());

    /// <summary>
    /// Deliveries that fail together (a few seconds of trouble, with several events under way) are one failure of the
    /// endpoint: counted one each, they made a run long enough to pause it, up to an hour (an outside fault test).
    /// </summary>
    [Test]
    public async Task Endpoint_WhoseDeliveriesUnderWayFailTogether_CountsOneFailureAndIsNotPaused()
    {
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["Callbacks:FirstRetryDelay"] = "00:10:00" });
        try
        {
            await using var receiver = await CallbackReceiver.StartAsync(async (_, _) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                return Results.StatusCode(500);
            });
            var user = await Env.CreateUserAsync();
            await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);
            await using var connection = await Env.Database.OpenConnectionAsync();
            await connection.ExecuteAsync("""
                INSERT INTO status_events (user_id, message_id, key_type, created_at, data, next_attempt_at)
                SELECT @Id, 1, 'live', now(), '{}', now() FROM generate_series(1, 8)
                """, new { user.Id });

            var attempted = await Poll.UntilAsync(() => connection.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM status_events WHERE user_id = @Id AND attempts = 1", new { user.Id }),
                n => n == 8, TimeSpan.FromSeconds(20));
            var (failures, pausedUntil) = await connection.QuerySingleAsync<(int, DateTime?)>(
                "SELECT consecutive_failures, paused_until FROM callback_settings WHERE user_id = @Id", new { user.Id });

            Assert.That(attempted, Is.EqualTo(8), "each event was tried once, and failed");
            Assert.That(receiver.MaxInFlight, Is.GreaterThan(1), "the attempts overlapped");
            Assert.That(failures, Is.EqualTo(1), "attempts under way together are one failure of the endpoint");
            Assert.That(pausedUntil, Is.Null);
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    /// <summary>
    /// An endpoint that keeps failing while it has a backlog is backed off as a whole (SPEC §11.1), though its deliveries
    /// under way always overlap (each slot is refilled as an attempt ends): each round of attempts is one more failure.
    /// Counted from the last failure of any attempt, its run stayed at one and it was never paused (an outside review).
    /// </summary>
    [Test]
    public async Task Endpoint_ThatKeepsFailingWithABacklog_IsPausedThoughItsAttemptsOverlap()
    {
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["Callbacks:FirstRetryDelay"] = "00:10:00" });
        try
        {
            await using var receiver = await CallbackReceiver.StartAsync(async (_, _) =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500));
                return Results.StatusCode(503);
            });
            var user = await Env.CreateUserAsync();
            await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);
            await using var connection = await Env.Database.OpenConnectionAsync();
            await connection.ExecuteAsync("""
                INSERT INTO status_events (user_id, message_id, key_type, created_at, data, next_attempt_at)
                SELECT @Id, 1, 'live', now(), '{}', now() FROM generate_series(1, 200)
                """, new { user.Id });
            var threshold = new CallbackOptions().EndpointFailureThreshold;

            var (failures, pausedUntil) = await Poll.UntilAsync(() => connection.QuerySingleAsync<(int, DateTime?)>(
                    "SELECT consecutive_failures, paused_until FROM callback_settings WHERE user_id = @Id", new { user.Id }),
                s => s.Item2 is not null, TimeSpan.FromSeconds(30));
            var attempted = await connection.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM status_events WHERE user_id = @Id AND attempts > 0", new { user.Id });

            Assert.That(receiver.MaxInFlight, Is.GreaterThan(1), "the attempts overlapped");
            Assert.That(pausedUntil, Is.Not.Null, $"{attempted} attempts failed, a run of {failures}, and no pause");
            Assert.That(failures, Is.GreaterThanOrEqualTo(threshold));
            Assert.That(attempted, Is.LessThan(200), "paused before every event of the backlog was tried");
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    /// <summary>
    /// An endpoint that had been failing and now answers (a 4xx for one event) is up: its next events must not wait for a
    /// pause (up to Callbacks:MaxRetryDelay, 1 h by default).
    /// </summary>
    [Test]
    public async Task Endpoint_ThatAnswersA4xxAfterARunOfFailures_IsNotPausedAgain()
    {
        await Env.RestartDispatcherAsync(new Dictionary<string, string?>
        {
            ["Callbacks:FirstRetryDelay"] = "00:10:00",
            ["Callbacks:MaxRetryDelay"] = "01:00:00",
        });
        try
        {
            var requests = 0;
            await using var receiver = await CallbackReceiver.StartAsync((_, _) =>
                Task.FromResult(Interlocked.Increment(ref requests) == 1 ? Results.StatusCode(400) : Results.Ok()));
            var user = await Env.CreateUserAsync();
            await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);
            await using (var connection = await Env.Database.OpenConnectionAsync())
            {
                // The endpoint failed 20 times in a row and its pause is over: the next event is a probe.
                await connection.ExecuteAsync(
                    "UPDATE callback_settings SET consecutive_failures = 20, paused_until = NULL WHERE user_id = @Id",
                    new { user.Id });
            }

            var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local));
            Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());

            await Poll.UntilAsync(() => Task.FromResult(receiver.Received.Count), n => n >= 1, TimeSpan.FromSeconds(15));
            var received = await Poll.UntilAsync(() => Task.FromResult(receiver.Received.Count), n => n >= 2,
                TimeSpan.FromSeconds(10));
            DateTime? pausedUntil;
            await using (var connection = await Env.Database.OpenConnectionAsync())
            {
                pausedUntil = await connection.ExecuteScalarAsync<DateTime?>(
                    "SELECT paused_until FROM callback_settings WHERE user_id = @Id", new { user.Id });
            }

            Assert.Multiple(() =>
            {
                Assert.That(received, Is.GreaterThanOrEqualTo(2),
                    $"the endpoint answered (400, then 200s) yet its next event waited; paused_until={pausedUntil:O}");
                Assert.That(pausedUntil, Is.Null.Or.LessThan(DateTime.UtcNow), "an endpoint that answers is not failing");
            });
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }
}
