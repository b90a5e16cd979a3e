using System.Net;
using Dapper;
using GovSg.Dispatcher.Callbacks;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Statuses;
using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration.Callbacks;

/// <summary>Callbacks where two things happen at once: a status change and a turn-off, a lapsed lease and a new claim.</summary>
public sealed class CallbackRaceTests
{
    private static TestSystem Env => TestEnvironment.Current;

    /// <summary>
    /// A status change whose statement began while callbacks were on, but that commits after the agency turned them off,
    /// records its event after the discard. It must neither show as pending while callbacks are off nor be delivered
    /// once they are turned on again (SPEC §11.1: "turning callbacks off discards them").
    /// </summary>
    [Test]
    public async Task TurningCallbacksOff_WhileAStatusChangeWaitsOnItsMessage_LeavesNothingPendingOrDeliveredLater()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await Env.CreateUserAsync();
        var (id, wamid) = await InsertMessageAsync(user.Id);
        await new SendStore(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions()))
            .AcceptAsync([(id, wamid, null)], DateTime.UtcNow, CancellationToken.None);
        await CallbackSettingsTests.SetUrlAsync(user.Client, receiver.Url);

        // Hold the message row, so the status statement (the Dispatcher's own StatusStore) waits inside its UPDATE.
        await using var holder = await Env.Database.OpenConnectionAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("SELECT 1 FROM messages WHERE id = @id FOR UPDATE", new { id }, hold);
        var apply = new StatusStore(Env.Database).ApplyAsync(
            [new StatusEvent(wamid, "DELIVERED", DateTime.UtcNow.AddSeconds(-1), null, null)], DateTime.UtcNow,
            TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);
        var waiting = await Env.StatementsWaitingOnALockAsync("applied AS (");
        Assert.That(waiting, Is.GreaterThan(0), "the status statement is waiting on the message row");

        // The agency turns callbacks off: 200, nothing pending.
        var (off, offBody) = await CallbackSettingsTests.PutAsync(user.Client, """{"url":null}""");
        Assert.That(off.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(offBody.GetProperty("pending").GetInt64(), Is.Zero);

        await hold.CommitAsync();
        await apply;

        var pendingWhileOff = (await MessageJson.GetAsync(user.Client, "v1/callback-settings")).Body.GetProperty("pending").GetInt64();

        // Callbacks on again, later: nothing from the time they were off should arrive.
        var (on, onBody) = await CallbackSettingsTests.PutAsync(user.Client,
            System.Text.Json.JsonSerializer.Serialize(new { url = receiver.Url }));
        Assert.That(on.StatusCode, Is.EqualTo(HttpStatusCode.OK), onBody.ToString());
        // The agency's next message shows deliveries have resumed.
        var (sent, sentBody) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        Assert.That((int)sent.StatusCode, Is.EqualTo(201), sentBody.ToString());
        await Poll.UntilAsync(() => Task.FromResult(receiver.Received.Count(r => r.MessageId == sentBody.Str("id"))), n => n > 0,
            TimeSpan.FromSeconds(15));
        await Task.Delay(TimeSpan.FromSeconds(1));
        var stale = receiver.Received.Where(r => r.MessageId == id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Select(r => r.Status).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(pendingWhileOff, Is.Zero, "callbacks are off: nothing may be pending");
            Assert.That(stale, Is.Empty, $"(all received: {string.Join(' ', receiver.Received.Select(r => r.MessageId + ':' + r.Status))}) an event of the time callbacks were off was delivered after turning them on");
        });
    }

    /// <summary>
    /// Once a lease lapsed and another Dispatcher claimed the event, the first one's late retry must not move
    /// next_attempt_at back before the second's lease: a third claim would then deliver the event while the second
    /// delivery is still under way (CallbackOptions.Lease: never delivered twice at once).
    /// </summary>
    [Test]
    public async Task Retry_AfterItsLeaseLapsedAndAnotherClaimTookTheEvent_DoesNotMakeItDueDuringThatDelivery()
    {
        var user = await Env.CreateUserAsync();
        var t0 = DateTime.UtcNow.AddDays(2);
        var eventId = await PausedEventAsync(user.Id, t0);

        var store = new CallbackStore(Env.Database);
        var lease = new CallbackOptions().Lease;
        var none = new Dictionary<long, int>();

        async Task<List<long>> ClaimAt(DateTime now) =>
            (await store.ClaimAsync(none, now, now - new CallbackOptions().Budget, now + lease, 8, 5, 100, CancellationToken.None))
            .Where(c => c.UserId == user.Id).Select(c => c.Id).ToList();

        var a = await ClaimAt(t0);                                // Dispatcher A claims; its lease ends at t0 + lease.
        var bAt = t0 + lease + TimeSpan.FromSeconds(1);
        var b = await ClaimAt(bAt);                               // A stalled past its lease: B claims, lease to bAt + lease.
        var claimedByA = new ClaimedEvent { Id = eventId, UserId = user.Id, CreatedAt = t0, LeaseUntil = t0 + lease };
        // A's attempt failed (5xx); its outcome write schedules a retry 1 s later, by its own reckoning.
        await store.RetryAsync(claimedByA, t0, bAt + TimeSpan.FromSeconds(1), "HTTP 503", bAt, CancellationToken.None);
        var c = await ClaimAt(bAt + TimeSpan.FromSeconds(2));     // B's attempt is still under way (lease till bAt + lease).

        Assert.That(a, Is.EqualTo(new[] { eventId }));
        Assert.That(b, Is.EqualTo(new[] { eventId }));
        Assert.That(c, Is.Empty, "the event is claimed a third time while B's lease still runs: two deliveries at once");
    }

    /// <summary>
    /// The agency moves its receiver: the old URL now answers 404 or 503, and the new URL made the events under delivery
    /// to it due again (SPEC §11.1: pending events go to the URL current at delivery). The old URL's late answers must
    /// neither drop an event nor put it off, nor count against the new URL, which starts with a clean bill of health.
    /// </summary>
    [Test]
    public async Task Outcomes_OfTheOldUrl_AfterTheUrlChanged_NeitherDropNorPutOffTheEventsNorCountAgainstTheNewUrl()
    {
        var user = await Env.CreateUserAsync();
        var t0 = DateTime.UtcNow.AddDays(2);
        var dropped = await PausedEventAsync(user.Id, t0);
        var retried = await EventAsync(user.Id, t0);
        var store = new CallbackStore(Env.Database);
        var lease = new CallbackOptions().Lease;
        var claimed = (await store.ClaimAsync(new Dictionary<long, int>(), t0, t0 - new CallbackOptions().Budget, t0 + lease, 8, 5,
            100, CancellationToken.None)).Where(c => c.UserId == user.Id).ToDictionary(c => c.Id);

        // What a new URL does (CallbackSettingsStore), at the test's own time so that the running Dispatcher stays away.
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            UPDATE callback_settings SET url = 'https://hooks-new.agency.example/x', consecutive_failures = 0 WHERE user_id = @userId;
            UPDATE status_events SET next_attempt_at = @due WHERE user_id = @userId;
            """, new { userId = user.Id, due = t0 + TimeSpan.FromSeconds(1) });
        var failures = await store.RetryAsync(claimed[retried], t0, t0 + TimeSpan.FromMinutes(1), "HTTP 503", t0, CancellationToken.None);
        await store.DropAsync(claimed[dropped], t0, "HTTP 404", endpointFailed: false, t0, CancellationToken.None);

        var events = (await connection.QueryAsync<(long Id, DateTime Due)>(
            "SELECT id, next_attempt_at FROM status_events WHERE user_id = @userId", new { userId = user.Id })).ToList();
        var settings = await connection.QuerySingleAsync<(int Failures, string? Reason)>(
            "SELECT consecutive_failures, last_failure_reason FROM callback_settings WHERE user_id = @userId", new { userId = user.Id });
        Assert.That(claimed.Keys, Is.EquivalentTo(new[] { dropped, retried }));
        Assert.That(events, Is.EquivalentTo(new[] { (dropped, t0 + TimeSpan.FromSeconds(1)), (retried, t0 + TimeSpan.FromSeconds(1)) })
            .Using<(long, DateTime)>((a, b) => a.Item1 == b.Item1 && Math.Abs((a.Item2 - b.Item2).TotalMilliseconds) < 1),
            "the old URL's answers dropped an event or put it off: the new URL would never get it, or late");
        Assert.That((failures, settings.Failures, settings.Reason), Is.EqualTo((0, 0, (string?)null)),
            "the old URL's failures were counted against the new one");
    }

    /// <summary>
    /// A new URL makes what waits due at once, but not a day's backlog in the request: the soonest 10,000, and the rest at
    /// their own retry (within the backoff's cap of an hour), so that the PUT ends well within its statement timeout.
    /// </summary>
    [Test]
    public async Task NewUrl_WithABacklog_MakesTheSoonest10000DueAtOnceAndLeavesTheRestToTheirRetry()
    {
        var user = await Env.CreateUserAsync();
        var t0 = DateTime.UtcNow.AddDays(1);
        await PausedEventAsync(user.Id, t0);
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO status_events (user_id, message_id, key_type, created_at, data, next_attempt_at)
            SELECT @userId, 1, 'live', now(), '{}', @t0 + g * interval '1 millisecond' FROM generate_series(1, 10049) g
            """, new { userId = user.Id, t0 });

        try
        {
            await new GovSg.Api.Callbacks.CallbackSettingsStore(Env.Database)
                .SetAsync(user.Id, "https://hooks-new.agency.example/x", DateTime.UtcNow, CancellationToken.None);
            // The running Dispatcher may take some of those made due meanwhile; none it takes goes back past t0.
            var (soon, later, latest) = await connection.QuerySingleAsync<(long, long, DateTime)>("""
                SELECT count(*) FILTER (WHERE next_attempt_at < @t0), count(*) FILTER (WHERE next_attempt_at >= @t0),
                       min(next_attempt_at) FILTER (WHERE next_attempt_at >= @t0)
                FROM status_events WHERE user_id = @userId
                """, new { userId = user.Id, t0 });

            Assert.That((soon, later), Is.EqualTo((10_000L, 50L)));
            Assert.That(latest, Is.GreaterThan(t0.AddMilliseconds(9_999)), "the soonest due went first");
        }
        finally
        {
            await connection.ExecuteAsync("""
                UPDATE callback_settings SET url = NULL WHERE user_id = @userId;
                DELETE FROM status_events WHERE user_id = @userId;
                """, new { userId = user.Id });
        }
    }

    /// <summary>An UNSENT message no Dispatcher or sweeper will pick up by itself (its times lie far ahead).</summary>
    internal static async Task<(long Id, string Wamid)> InsertMessageAsync(long userId, string keyType = "live")
    {
        var wamid = $"wamid.review.{Guid.NewGuid():N}";
        await using var connection = await Env.Database.OpenConnectionAsync();
        var id = await connection.ExecuteScalarAsync<long>("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  created_at, updated_at, expires_at, available_at, sweep_at, attempts, key_type)
            VALUES (@userId, 3, '+6591234567', '{}', 'en_GB', 'notice', '{}', now() - interval '1 minute',
                    now() - interval '1 minute', now() + interval '1 day', now() + interval '1 day', now() + interval '1 day',
                    0, @keyType)
            RETURNING id
            """, new { userId, keyType });
        return (id, wamid);
    }

    /// <summary>
    /// One agency's deliveries go out together (up to the per-user cap on each Dispatcher), so recording one must not wait
    /// for another's commit. Each wrote the user's one settings row, and an agency's deliveries went through the database
    /// one at a time: in an outside soak at 70 messages a second, its callbacks fell 18 minutes behind.
    /// </summary>
    [Test]
    public async Task Delivered_WhileAnotherDeliveryOfTheUserHoldsItsSettingsRow_IsRecordedWithoutWaiting()
    {
        var user = await Env.CreateUserAsync();
        var t0 = WholeMilliseconds(DateTime.UtcNow.AddDays(2)); // not due for the running Dispatcher
        var first = await PausedEventAsync(user.Id, t0);
        var second = await EventAsync(user.Id, t0);
        var store = new CallbackStore(Env.Database);
        await store.DeliveredAsync([(Claimed(first, user.Id), t0)], CancellationToken.None);

        // Another delivery of the user, recording its success: it holds the settings row until it commits.
        await using var other = await Env.Database.OpenConnectionAsync();
        await using var recording = await other.BeginTransactionAsync();
        await other.ExecuteAsync("UPDATE callback_settings SET last_success_at = last_success_at WHERE user_id = @userId",
            new { userId = user.Id }, recording);
        var at = t0 + CallbackStore.LastSuccessResolution / 2;
        var recorded = store.DeliveredAsync([(Claimed(second, user.Id), at)], CancellationToken.None);
        var waited = await Task.WhenAny(recorded, Task.Delay(TimeSpan.FromSeconds(3))) != recorded;
        await recording.CommitAsync();
        await recorded;

        await using var connection = await Env.Database.OpenConnectionAsync();
        var settings = await connection.QuerySingleAsync<(DateTime? LastSuccess, DateTime? PausedUntil)>(
            "SELECT last_success_at, paused_until FROM callback_settings WHERE user_id = @userId", new { userId = user.Id });
        Assert.That(waited, Is.False, "the delivery waited for the other one's commit");
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM status_events WHERE user_id = @userId",
            new { userId = user.Id }), Is.Zero, "both events delivered");
        Assert.That(settings, Is.EqualTo(((DateTime?)t0, (DateTime?)null)),
            "the first success ended the pause and is the one recorded, within the resolution");
    }

    /// <summary>
    /// A success a resolution after the last one is recorded, as is one that ends a run of failures or a pause.
    /// </summary>
    [Test]
    public async Task Delivered_ALaterSuccessOrOneAfterAFailure_IsRecorded()
    {
        var user = await Env.CreateUserAsync();
        var t0 = WholeMilliseconds(DateTime.UtcNow.AddDays(2));
        var events = new[] { await PausedEventAsync(user.Id, t0), await EventAsync(user.Id, t0), await EventAsync(user.Id, t0) };
        var store = new CallbackStore(Env.Database);
        await using var connection = await Env.Database.OpenConnectionAsync();
        Task<(DateTime? LastSuccess, int Failures)> Settings() => connection.QuerySingleAsync<(DateTime?, int)>(
            "SELECT last_success_at, consecutive_failures FROM callback_settings WHERE user_id = @userId", new { userId = user.Id });

        var later = t0 + CallbackStore.LastSuccessResolution;
        await store.DeliveredAsync([(Claimed(events[0], user.Id), t0)], CancellationToken.None);
        await store.DeliveredAsync([(Claimed(events[1], user.Id), later)], CancellationToken.None);
        var afterLater = await Settings();
        await connection.ExecuteAsync("UPDATE callback_settings SET consecutive_failures = 2 WHERE user_id = @userId", new { userId = user.Id });
        await store.DeliveredAsync([(Claimed(events[2], user.Id), later)], CancellationToken.None);

        Assert.That(afterLater, Is.EqualTo(((DateTime?)later, 0)));
        Assert.That(await Settings(), Is.EqualTo(((DateTime?)later, 0)), "a success ends the run of failures");
    }

    /// <summary>
    /// The agency moved its receiver, and the new one keeps failing and is paused. A late success at the old URL says
    /// nothing of the new one: the event is delivered, and the new URL's run of failures and its pause stand.
    /// </summary>
    [Test]
    public async Task Delivered_AtTheOldUrlAfterTheUrlChanged_LeavesTheNewUrlsRunAndPause()
    {
        var user = await Env.CreateUserAsync();
        var t0 = WholeMilliseconds(DateTime.UtcNow.AddDays(2));
        var eventId = await PausedEventAsync(user.Id, t0);
        var store = new CallbackStore(Env.Database);
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "UPDATE callback_settings SET url = 'https://hooks-new.agency.example/x', consecutive_failures = 5 WHERE user_id = @userId",
            new { userId = user.Id });

        await store.DeliveredAsync([(Claimed(eventId, user.Id), t0)], CancellationToken.None);

        var settings = await connection.QuerySingleAsync<(DateTime? LastSuccess, int Failures, bool Paused)>(
            "SELECT last_success_at, consecutive_failures, paused_until IS NOT NULL FROM callback_settings WHERE user_id = @userId",
            new { userId = user.Id });
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM status_events WHERE user_id = @userId",
            new { userId = user.Id }), Is.Zero, "the event was delivered, whichever URL took it");
        Assert.That(settings, Is.EqualTo(((DateTime?)null, 5, true)),
            "the old URL's success ended the new URL's run of failures or its pause");
    }

    /// <summary>
    /// The worker records successes together, a moment after they happened. A failure of the endpoint counted in that
    /// moment came after the success: the success ends the run before it, and lifts its pause, but that failure stays in
    /// the run. Any other failure recorded since (a give-up, which counts none) leaves the run ended.
    /// </summary>
    [TestCase(true, 1)]
    [TestCase(false, 0)]
    public async Task Delivered_WithAFailureRecordedAfterItSucceeded_EndsOnlyTheRunBeforeIt(bool counted, int runAfter)
    {
        var user = await Env.CreateUserAsync();
        var t0 = WholeMilliseconds(DateTime.UtcNow.AddDays(2));
        var eventId = await PausedEventAsync(user.Id, t0);
        var store = new CallbackStore(Env.Database);
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            UPDATE callback_settings SET consecutive_failures = 5, last_failure_at = @failedAt,
                failure_counted_at = CASE WHEN @counted THEN @failedAt ELSE @t0 - interval '1 minute' END
            WHERE user_id = @userId
            """, new { userId = user.Id, failedAt = t0.AddMilliseconds(20), counted, t0 });

        await store.DeliveredAsync([(Claimed(eventId, user.Id), t0)], CancellationToken.None);

        var settings = await connection.QuerySingleAsync<(DateTime? LastSuccess, int Failures, bool Paused)>(
            "SELECT last_success_at, consecutive_failures, paused_until IS NOT NULL FROM callback_settings WHERE user_id = @userId",
            new { userId = user.Id });
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM status_events WHERE user_id = @userId",
            new { userId = user.Id }), Is.Zero, "the event was delivered");
        Assert.That(settings, Is.EqualTo(((DateTime?)t0, runAfter, false)));
    }

    /// <summary>
    /// One statement records a round's deliveries of several users: every event goes, and each user's settings get that
    /// user's latest success, however its deliveries are ordered in the round.
    /// </summary>
    [Test]
    public async Task Delivered_ForSeveralUsersInOneRound_DeletesEveryEventAndRecordsEachUsersLatestSuccess()
    {
        var t0 = WholeMilliseconds(DateTime.UtcNow.AddDays(2));
        var first = await Env.CreateUserAsync();
        var second = await Env.CreateUserAsync();
        var firstEvents = new[] { await PausedEventAsync(first.Id, t0), await EventAsync(first.Id, t0) };
        var secondEvents = new[] { await PausedEventAsync(second.Id, t0), await EventAsync(second.Id, t0), await EventAsync(second.Id, t0) };
        var store = new CallbackStore(Env.Database);

        await store.DeliveredAsync(
        [
            (Claimed(secondEvents[0], second.Id), t0.AddMilliseconds(30)),
            (Claimed(firstEvents[1], first.Id), t0.AddMilliseconds(20)),
            (Claimed(secondEvents[2], second.Id), t0.AddMilliseconds(10)),
            (Claimed(firstEvents[0], first.Id), t0),
            (Claimed(secondEvents[1], second.Id), t0.AddMilliseconds(40)),
        ], CancellationToken.None);

        await using var connection = await Env.Database.OpenConnectionAsync();
        var settings = (await connection.QueryAsync<(long UserId, DateTime? LastSuccess, bool Paused)>(
            "SELECT user_id, last_success_at, paused_until IS NOT NULL FROM callback_settings WHERE user_id IN (@first, @second) ORDER BY user_id",
            new { first = first.Id, second = second.Id })).ToList();
        Assert.That(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM status_events WHERE user_id IN (@first, @second)",
            new { first = first.Id, second = second.Id }), Is.Zero, "every delivered event is gone");
        Assert.That(settings, Is.EqualTo(new[]
        {
            (first.Id, (DateTime?)t0.AddMilliseconds(20), false),
            (second.Id, (DateTime?)t0.AddMilliseconds(40), false),
        }));
    }

    /// <summary>
    /// A failure's run reached the threshold, and before its pause was written another delivery succeeded (ending the run)
    /// or the agency set a new URL: the pause must not land on an endpoint that answers, for up to an hour.
    /// </summary>
    [Test]
    public async Task Pause_AfterTheRunEndedOrTheUrlChanged_IsNotWritten()
    {
        var user = await Env.CreateUserAsync();
        var t0 = DateTime.UtcNow.AddDays(2);
        var eventId = await PausedEventAsync(user.Id, t0);
        var store = new CallbackStore(Env.Database);
        var claimed = new ClaimedEvent { Id = eventId, UserId = user.Id, Url = PausedUrl, CreatedAt = t0 };
        await using var connection = await Env.Database.OpenConnectionAsync();
        async Task<DateTime?> PauseAfter(string change)
        {
            await connection.ExecuteAsync(
                $"UPDATE callback_settings SET consecutive_failures = 5, paused_until = NULL, url = @url WHERE user_id = @userId; {change}",
                new { userId = user.Id, url = PausedUrl });
            return await store.PauseAsync(claimed, 5, t0 + TimeSpan.FromHours(1), CancellationToken.None);
        }

        var standing = await PauseAfter("");
        var runEnded = await PauseAfter("UPDATE callback_settings SET consecutive_failures = 0 WHERE user_id = @userId");
        var urlChanged = await PauseAfter(
            "UPDATE callback_settings SET url = 'https://hooks-new.agency.example/x', consecutive_failures = 0 WHERE user_id = @userId");
        var pausedUntil = await connection.ExecuteScalarAsync<DateTime?>(
            "SELECT paused_until FROM callback_settings WHERE user_id = @userId", new { userId = user.Id });

        Assert.That(standing, Is.Not.Null, "the run stands: the endpoint is paused");
        Assert.That((runEnded, urlChanged, pausedUntil), Is.EqualTo(((DateTime?)null, (DateTime?)null, (DateTime?)null)),
            "a pause landed on an endpoint whose run had ended, or on a new URL");
    }

    /// <summary>The callback URL of a user <see cref="PausedEventAsync"/> set up.</summary>
    private const string PausedUrl = "https://hooks.agency.example/x";

    /// <summary>
    /// An event created, and due, at <paramref name="createdAt"/> (days ahead) for a user whose endpoint is paused for a
    /// day: the running Dispatcher never touches it, and a test's own claims at that time take it.
    /// </summary>
    internal static async Task<long> PausedEventAsync(long userId, DateTime createdAt)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO callback_settings (user_id, url, updated_at, paused_until)
            VALUES (@userId, @url, now(), now() + interval '1 day')
            """, new { userId, url = PausedUrl });
        return await EventAsync(userId, createdAt);
    }

    /// <summary>Another event of a user <see cref="PausedEventAsync"/> set up, created and due at <paramref name="createdAt"/>.</summary>
    internal static async Task<long> EventAsync(long userId, DateTime createdAt)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("""
            INSERT INTO status_events (user_id, message_id, key_type, created_at, data, next_attempt_at)
            VALUES (@userId, 1, 'live', @createdAt, '{}', @createdAt) RETURNING id
            """, new { userId, createdAt });
    }

    /// <summary>Event <paramref name="id"/> of a user <see cref="PausedEventAsync"/> set up, as a claim of it holds it.</summary>
    private static ClaimedEvent Claimed(long id, long userId) => new() { Id = id, UserId = userId, Url = PausedUrl };

    /// <summary>A time PostgreSQL keeps as it is (it keeps microseconds).</summary>
    private static DateTime WholeMilliseconds(DateTime time) => time.AddTicks(-(time.Ticks % TimeSpan.TicksPerMillisecond));
}
