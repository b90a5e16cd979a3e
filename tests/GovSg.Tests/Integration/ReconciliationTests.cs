using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Sweeping;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration;

/// <summary>
/// SPEC §5, reconcile before re-sending: a call whose outcome is unknown is held until a status naming it (by its
/// <c>biz_opaque_callback_data</c>) adopts the message, and sent again only if none does. In tests the Dispatcher's
/// timeout is 2 s, the hold 3 s and the retry budget 3 s.
/// </summary>
public sealed class ReconciliationTests
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(3);

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Send_WhenTheProviderAcceptsButAnswersAfterTheTimeout_AdoptsTheMessageFromItsStatusesAndSendsOnce()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 2_500, delay_times = 1 });

        var id = await SendAsync(user, local);
        await MessageJson.WaitForStatusAsync(user.Client, id.ToString(CultureInfo.InvariantCulture), "READ");

        var send = (await Env.SimulatorSendsAsync(digits)).Single();
        var row = await RowAsync(id);
        Assert.That(send.OpaqueData, Is.EqualTo($"m:{id}:1"), "the call is tagged with its message and attempt");
        Assert.That((row.ProviderMessageId, row.Attempts, row.AcceptedAt), Is.EqualTo((send.Wamid, 1, row.AttemptedAt)),
            "adopted with the timed-out call's wamid, accepted at the call's time");
        await AssertNoFurtherSendAsync(digits, 1);
    }

    [Test]
    public async Task Send_WhenTheProviderAnswersLateAndNeverEchoesTheOpaqueData_SendsOnceMoreAfterTheHold()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 2_500, delay_times = 1 });
        await Env.SetSimulatorSettingsAsync(new { echo_opaque_data = false });
        long id;
        try
        {
            id = await SendAsync(user, local);
            await Poll.UntilAsync(() => RowAsync(id), r => r.Status != "UNSENT", TimeSpan.FromSeconds(20));
        }
        finally
        {
            await Env.SetSimulatorSettingsAsync(new { echo_opaque_data = true });
        }

        var sends = await Env.SimulatorSendsAsync(digits);
        var row = await RowAsync(id);
        Assert.That(sends.Select(s => s.OpaqueData), Is.EqualTo(new[] { $"m:{id}:1", $"m:{id}:2" }));
        Assert.That((row.ProviderMessageId, row.Attempts, row.HeldAttempt), Is.EqualTo((sends[1].Wamid, 2, 1)));
        Assert.That(sends[1].ReceivedAt - sends[0].ReceivedAt, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(4.5)),
            "re-sent only once the 2 s timeout and the 3 s hold had passed");
        await AssertNoFurtherSendAsync(digits, 2);
    }

    [Test]
    public async Task Dispatcher_WhenItDiesBetweenTheProvidersAnswerAndTheAcceptedWrite_TheMessageIsAdoptedAndSentOnce()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromSeconds(2));

        // The dead dispatcher's call: the provider took it and reports on it; nobody will record its answer.
        var wamid = await CallProviderAsync(digits, $"m:{id}:1");

        var message = await MessageJson.WaitForStatusAsync(user.Client, id.ToString(CultureInfo.InvariantCulture), "READ");
        var row = await RowAsync(id);
        Assert.That(message.Str("status"), Is.EqualTo("READ"));
        Assert.That((row.ProviderMessageId, row.Attempts, row.CallOpen, row.AcceptedAt), Is.EqualTo((wamid, 1, false, row.AttemptedAt)));
        await AssertNoFurtherSendAsync(digits, 1);
    }

    [Test]
    public async Task Sweeper_WhenAClaimLapses_HoldsTheMessage_AndAStatusArrivingDuringTheHoldAdoptsIt()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
        var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromMilliseconds(300));
        var wamid = await CallProviderAsync(digits, $"m:{id}:1");

        var held = await Poll.UntilAsync(() => RowAsync(id), r => r.HeldAttempt == 1);
        // The hold (3 s) made long enough for the status to be applied however busy the machine: otherwise its end
        // re-sends the message before the status adopts it.
        await ExecuteAsync("""
            UPDATE messages SET available_at = now() + interval '30 seconds', sweep_at = now() + interval '30 seconds'
            WHERE id = @id AND held_attempt = 1 AND attempts = 1 AND NOT call_open
            """, id);
        await PostStatusAsync(wamid, "sent", $"m:{id}:1");
        var row = await Poll.UntilAsync(() => RowAsync(id), r => r.Status != "UNSENT");

        Assert.That((held.Status, held.CallOpen), Is.EqualTo(("UNSENT", false)), "the lapsed claim was held, not re-sent");
        Assert.That((row.Status, row.ProviderMessageId, row.Attempts), Is.EqualTo(("SENT", wamid, 1)));
        await AssertNoFurtherSendAsync(digits, 1);
    }

    [Test]
    public async Task Status_ParkedBeforeTheHoldBegan_AdoptsTheMessageOnceItIsHeld()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
        // Not yet claimed, so a status naming attempt 1 cannot adopt it: it is parked.
        var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromMinutes(10), attempts: 0);
        var wamid = await CallProviderAsync(digits, $"m:{id}:1");
        await PostStatusAsync(wamid, "delivered", $"m:{id}:1");
        var parked = await Poll.UntilAsync(() => ParkedAsync(wamid), n => n > 0);

        await ExecuteAsync("""
            UPDATE messages SET attempts = 1, first_attempt_at = now(), attempted_at = now(), held_attempt = 1,
                                held_at = now(), available_at = now() + interval '10 seconds', sweep_at = now() + interval '10 seconds'
            WHERE id = @id
            """, id);
        var row = await Poll.UntilAsync(() => RowAsync(id), r => r.Status != "UNSENT");

        Assert.That(parked, Is.EqualTo(1));
        Assert.That((row.Status, row.ProviderMessageId), Is.EqualTo(("DELIVERED", wamid)));
        Assert.That(await ParkedAsync(wamid), Is.Zero);
        Assert.That(await Env.SimulatorSendsAsync(digits), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Status_WithoutOpaqueDataOrNamingAnotherAttemptOrMessage_NeverAdopts()
    {
        var user = await Env.CreateUserAsync();
        var (local, _) = TestRecipients.Next();
        var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromMinutes(10));

        await PostStatusAsync($"wamid.none-{id}", "sent", opaqueData: null);
        await PostStatusAsync($"wamid.other-attempt-{id}", "sent", $"m:{id}:2");
        await PostStatusAsync($"wamid.not-ours-{id}", "sent", $"m:{long.MaxValue}:1");
        await PostStatusAsync($"wamid.foreign-{id}", "sent", $"order-{id}");
        var parked = await Poll.UntilAsync(() => ParkedLikeAsync($"%-{id}"), n => n == 4);

        Assert.That(parked, Is.EqualTo(4));
        Assert.That((await RowAsync(id)).Status, Is.EqualTo("UNSENT"));
    }

    [Test]
    public async Task Status_NamingAnEarlierAttempt_WhenTheLaterOneWasNotSent_AdoptsTheMessageAndItIsNotSentAgain()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
        var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromMinutes(10));
        var wamid = await CallProviderAsync(digits, $"m:{id}:1");
        // Attempt 1's hold ended unadopted; attempt 2 was refused (a 5xx) and waits for its retry. No call is open.
        await ExecuteAsync("""
            UPDATE messages SET attempts = 2, call_open = false, available_at = now() + interval '30 seconds',
                                sweep_at = now() + interval '30 seconds'
            WHERE id = @id
            """, id);

        await PostStatusAsync(wamid, "delivered", $"m:{id}:1");
        var row = await Poll.UntilAsync(() => RowAsync(id), r => r.Status != "UNSENT");

        Assert.That((row.Status, row.ProviderMessageId, row.Attempts), Is.EqualTo(("DELIVERED", wamid, 2)),
            "attempt 1 was sent: its status adopts the message");
        await AssertNoFurtherSendAsync(digits, 1);
    }

    [Test]
    public async Task Status_FailedForAnEarlierAttempt_NeverEndsTheMessage_ALaterAttemptMayStillBeSent()
    {
        var id = await InsertHeldOnTheSecondAttemptAsync();

        await PostStatusAsync($"wamid.failed-{id}", "failed", $"m:{id}:1");
        var parked = await Poll.UntilAsync(() => ParkedAsync($"wamid.failed-{id}"), n => n > 0);

        Assert.That(parked, Is.EqualTo(1));
        Assert.That((await RowAsync(id)).Status, Is.EqualTo("UNSENT"), "attempt 1 failing says nothing of attempt 2");
    }

    [Test]
    public async Task Statuses_ForTwoAttemptsInOneWebhook_AdoptTheMessageByTheOneThatWasSent()
    {
        var id = await InsertHeldOnTheSecondAttemptAsync();

        using var response = await Webhooks.PostSignedAsync(Env.Client(null),
        [
            new WebhookStatus($"wamid.first-{id}", "delivered", DateTime.UtcNow, OpaqueData: $"m:{id}:1"),
            new WebhookStatus($"wamid.second-{id}", "failed", DateTime.UtcNow, ErrorCode: 131026, OpaqueData: $"m:{id}:2"),
        ]);
        response.EnsureSuccessStatusCode();
        var row = await Poll.UntilAsync(() => RowAsync(id), r => r.Status != "UNSENT");

        Assert.That((row.Status, row.ProviderMessageId), Is.EqualTo(("DELIVERED", $"wamid.first-{id}")),
            "the recipient has attempt 1's message; attempt 2's failure does not undo it");
    }

    /// <summary>
    /// Attempt 1's outcome was unknown and its hold ended with nothing adopted. One message then ended in ERROR (its
    /// retries ran out), the other was sent again and accepted under another id. Meta's late reports on attempt 1 name
    /// each by its opaque data, and are applied to it by id (SPEC §5): the recipient has that copy. A failure of attempt 1
    /// says nothing of the attempt the message was accepted by, and ends nothing. None of them waits parked.
    /// </summary>
    [Test]
    public async Task Statuses_NamingAnEarlierAttemptOfAMessageThatLeftUnsent_AreAppliedToItByItsId()
    {
        var user = await Env.CreateUserAsync();
        var errored = await InsertClaimedAsync(user, TestRecipients.Next().Local, leaseEnd: TimeSpan.FromMinutes(10), attempts: 2);
        var accepted = await InsertClaimedAsync(user, TestRecipients.Next().Local, leaseEnd: TimeSpan.FromMinutes(10), attempts: 2);
        await ExecuteAsync("""
            UPDATE messages SET status = 'ERROR', errored_at = now(), error_code = 'retries_exhausted',
                                error_description = 'Gave up', call_open = false
            WHERE id = @id
            """, errored);
        await ExecuteAsync("""
            UPDATE messages SET status = 'ACCEPTED', accepted_at = now(), provider_message_id = 'wamid.second-' || id,
                                call_open = false
            WHERE id = @id
            """, accepted);

        using var response = await Webhooks.PostSignedAsync(Env.Client(null),
        [
            new WebhookStatus($"wamid.first-{errored}", "delivered", DateTime.UtcNow, OpaqueData: $"m:{errored}:1"),
            new WebhookStatus($"wamid.first-{accepted}", "failed", DateTime.UtcNow, ErrorCode: 131026, OpaqueData: $"m:{accepted}:1"),
            new WebhookStatus($"wamid.first-{accepted}", "read", DateTime.UtcNow, OpaqueData: $"m:{accepted}:1"),
        ]);
        response.EnsureSuccessStatusCode();
        var read = await Poll.UntilAsync(() => RowAsync(accepted), r => r.Status == "READ");
        var delivered = await Poll.UntilAsync(() => DeliveredAtAsync(errored), at => at is not null);

        Assert.That((read.Status, read.ProviderMessageId), Is.EqualTo(("READ", $"wamid.second-{accepted}")),
            "the recipient read attempt 1's copy; the message keeps the id it was accepted under");
        Assert.That(delivered, Is.Not.Null, "an ERROR message still takes the timestamps of what its recipient got (SPEC §4)");
        Assert.That(((await RowAsync(errored)).Status, (await RowAsync(errored)).ErrorCode), Is.EqualTo(("ERROR", "retries_exhausted")));
        Assert.That(await ParkedLikeAsync($"wamid.first-{errored}") + await ParkedLikeAsync($"wamid.first-{accepted}"), Is.Zero);
    }

    [Test]
    public async Task Status_NamingAnEarlierAttempt_WhileALaterCallIsOpen_WaitsParked_ThenAdoptsWhenThatCallIsRefused()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
        var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromMinutes(10), attempts: 2);
        var wamid = await CallProviderAsync(digits, $"m:{id}:1");

        await PostStatusAsync(wamid, "sent", $"m:{id}:1");
        var parked = await Poll.UntilAsync(() => ParkedAsync(wamid), n => n > 0);
        var whileOpen = await RowAsync(id);
        // Attempt 2's call is answered with a 5xx: not sent, retried later.
        await ExecuteAsync("""
            UPDATE messages SET call_open = false, available_at = now() + interval '1 minute', sweep_at = now() + interval '1 minute'
            WHERE id = @id
            """, id);
        var row = await Poll.UntilAsync(() => RowAsync(id), r => r.Status != "UNSENT");

        Assert.That((parked, whileOpen.Status), Is.EqualTo((1, "UNSENT")), "not adopted while attempt 2's call is open");
        Assert.That((row.Status, row.ProviderMessageId), Is.EqualTo(("SENT", wamid)));
    }

    [Test]
    public async Task Adoption_RacingTheReClaimThatEndsAnUnadoptedHold_ExactlyOneWinsForEveryMessage()
    {
        var user = await Env.CreateUserAsync();
        var bus = Env.Api.Services.GetRequiredService<IBus>();
        var messages = new List<(long Id, string Digits, string Wamid)>();
        for (var i = 0; i < 20; i++)
        {
            var (local, digits) = TestRecipients.Next();
            await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
            var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromMinutes(10));
            messages.Add((id, digits, await CallProviderAsync(digits, $"m:{id}:1")));
        }

        // Every hold ends now; the re-claim (a command) and the adopting status are sent at the same moment.
        await ExecuteAsync("""
            UPDATE messages SET call_open = false, held_attempt = 1, held_at = now(), first_attempt_at = now(),
                                available_at = now(), sweep_at = now() + interval '1 minute'
            WHERE id = ANY(@ids)
            """, [.. messages.Select(m => m.Id)]);
        await Task.WhenAll(messages.Select(m => Task.WhenAll(
            bus.Publish(new SendMessage(m.Id)),
            PostStatusAsync(m.Wamid, "sent", $"m:{m.Id}:1"))));

        // Either way the first call's `sent` reaches the message: it adopts it, or (re-claimed, it was accepted under the
        // second call's wamid) it is applied to it by id once the second call's outcome is recorded.
        var rows = await Task.WhenAll(messages.Select(m => Poll.UntilAsync(() => RowAsync(m.Id), r => r.Status == "SENT")));
        var sends = await Task.WhenAll(messages.Select(m => Env.SimulatorSendsAsync(m.Digits)));
        for (var i = 0; i < messages.Count; i++)
        {
            // Adopted: under the first call's wamid, sent once. Re-claimed: under the second's, sent again.
            var adopted = rows[i].ProviderMessageId == messages[i].Wamid;
            Assert.That((rows[i].Status, rows[i].Attempts, sends[i].Count), Is.EqualTo(adopted ? ("SENT", 1, 1) : ("SENT", 2, 2)),
                $"message {messages[i].Id}: adopted, or re-claimed and sent again — never both, never neither");
        }
    }

    [Test]
    public async Task Send_WithTwoDispatchersAndEveryFirstCallAnsweredLate_SendsEachMessageOnce()
    {
        var user = await Env.CreateUserAsync();
        await using var second = await Env.StartDispatcherAsync();
        var recipients = Enumerable.Range(0, 10).Select(_ => TestRecipients.Next()).ToList();
        foreach (var (_, digits) in recipients)
        {
            await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 2_500, delay_times = 1 });
        }

        var ids = await Task.WhenAll(recipients.Select(r => SendAsync(user, r.Local)));
        var rows = await Task.WhenAll(ids.Select(id => Poll.UntilAsync(() => RowAsync(id), r => r.Status == "READ", TimeSpan.FromSeconds(20))));

        Assert.That(rows.Select(r => r.Status), Is.All.EqualTo("READ"));
        Assert.That(rows.Select(r => r.Attempts), Is.All.EqualTo(1));
        await Task.Delay(Hold + TimeSpan.FromSeconds(1));
        var sends = await Task.WhenAll(recipients.Select(r => Env.SimulatorSendsAsync(r.Digits)));
        Assert.That(sends.Select(s => s.Count), Is.All.EqualTo(1));
    }

    [Test]
    public async Task Sweeper_WhenAMessageExpiresDuringItsHold_WaitsForTheHoldAndAStatusStillAdoptsIt()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
        var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromSeconds(10), validity: TimeSpan.FromMilliseconds(300));
        var wamid = await CallProviderAsync(digits, $"m:{id}:1");
        await ExecuteAsync("""
            UPDATE messages SET call_open = false, held_attempt = 1, held_at = now(), available_at = now() + interval '3 seconds',
                                sweep_at = now() + interval '3 seconds'
            WHERE id = @id
            """, id);

        await Task.Delay(TimeSpan.FromSeconds(1));
        var duringHold = await RowAsync(id);
        await PostStatusAsync(wamid, "sent", $"m:{id}:1");
        var row = await Poll.UntilAsync(() => RowAsync(id), r => r.Status != "UNSENT");

        Assert.That(duringHold.Status, Is.EqualTo("UNSENT"), "past its validity, but held: not expired yet");
        Assert.That((row.Status, row.ProviderMessageId), Is.EqualTo(("SENT", wamid)));
        await AssertNoFurtherSendAsync(digits, 1);
    }

    [Test]
    public async Task Sweeper_WhenAMessageExpiresDuringAHoldThatNothingAdopts_ExpiresItWhenTheHoldEndsWithoutSending()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
        var id = await InsertClaimedAsync(user, local, leaseEnd: TimeSpan.FromMilliseconds(200), validity: TimeSpan.FromSeconds(1));
        await CallProviderAsync(digits, $"m:{id}:1");

        var row = await Poll.UntilAsync(() => RowAsync(id), r => r.Status != "UNSENT");

        Assert.That((row.Status, row.ErrorCode, row.HeldAttempt), Is.EqualTo(("ERROR", "expired", 1)));
        Assert.That(row.ErroredAt - row.AttemptedAt, Is.GreaterThanOrEqualTo(Hold), "not before the hold ended");
        Assert.That(await Env.SimulatorSendsAsync(digits), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Hold_WrittenOnlyOnceTheDatabaseIsBack_RunsItsWholeLengthFromThen()
    {
        // The Dispatcher retries an outcome's write while PostgreSQL is away. A hold written late must still give the
        // call's statuses its whole length to adopt the message: counted from the call, an outage longer than the hold
        // made the message due again the moment its hold was written, and it was sent a second time.
        var id = await InsertClaimedAsync(await Env.CreateUserAsync(), TestRecipients.Next().Local, leaseEnd: TimeSpan.FromMinutes(10));
        await using var relay = TcpRelay.InFrontOfPostgres(TestSettings.DispatcherPostgres, out var postgres);
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        using var metrics = new DispatcherMetrics(new SweepStore(dataSource));
        var writer = new SendOutcomeWriter(new SendStore(dataSource, new SweepSchedule(TimeProvider.System),
            Options.Create(new RetryOptions())), metrics, TimeProvider.System, NullLogger<SendOutcomeWriter>.Instance);

        relay.Cut();
        var decided = DateTime.UtcNow;
        var write = writer.WriteAsync([(new ClaimedMessage { Id = id, Attempts = 1 }, new SendDecision.Hold(Hold, "timeout: No answer"))],
            decided);
        await Task.Delay(Hold + TimeSpan.FromSeconds(1));
        var back = DateTime.UtcNow;
        relay.Restore();
        await write.WaitAsync(TimeSpan.FromSeconds(30));

        await using var connection = await Env.Database.OpenConnectionAsync();
        var (heldUntil, heldAttempt) = await connection.QuerySingleAsync<(DateTime, int?)>(
            "SELECT available_at, held_attempt FROM messages WHERE id = @id", new { id });
        await ExecuteAsync("UPDATE messages SET status = 'ERROR', error_code = 'cancelled' WHERE id = @id", id); // never sent
        Assert.That(heldAttempt, Is.EqualTo(1), "held");
        Assert.That(heldUntil, Is.GreaterThanOrEqualTo(back + Hold),
            $"decided at {decided:HH:mm:ss.fff}, the database back at {back:HH:mm:ss.fff}");
    }

    [Test]
    public async Task ParkedStatus_TheDatabaseRefuses_IsDropped_AndTheOthersDueWithItStillAdopt()
    {
        // A parked status that can never be applied (here an id past PostgreSQL's index entry limit, 3,200 characters
        // that do not compress, which adoption would write into messages; the Api no longer takes such ids) once failed
        // every pass over the parked statuses, on every Dispatcher, for good: the statuses due with it never adopted
        // their messages, which were sent again.
        var user = await Env.CreateUserAsync();
        var poisoned = await InsertClaimedAsync(user, TestRecipients.Next().Local, leaseEnd: TimeSpan.FromMinutes(10));
        var good = await InsertClaimedAsync(user, TestRecipients.Next().Local, leaseEnd: TimeSpan.FromMinutes(10));
        var wamid = $"wamid.{Guid.NewGuid():N}";
        await ExecuteAsync("""
            UPDATE messages SET call_open = false, held_attempt = 1, held_at = now(), available_at = now() + interval '1 minute',
                                sweep_at = now() + interval '1 minute'
            WHERE id = ANY(@ids);
            INSERT INTO pending_status_events (provider_message_id, status, occurred_at, received_at, next_attempt_at,
                                               message_id, attempt)
            VALUES ('poison.' || (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 100)), 'SENT', now(), now(),
                    now(), @id, 1);
            """, poisoned, good);
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO pending_status_events (provider_message_id, status, occurred_at, received_at, next_attempt_at,
                                                   message_id, attempt)
                VALUES (@wamid, 'SENT', now(), now(), now(), @good, 1)
                """, new { wamid, good });
        }

        var adopted = await Poll.UntilAsync(() => RowAsync(good), r => r.Status != "UNSENT");

        Assert.That((adopted.Status, adopted.ProviderMessageId), Is.EqualTo(("SENT", wamid)));
        Assert.That(await ParkedLikeAsync("poison.%"), Is.Zero, "the status that cannot be applied is dropped");
        Assert.That((await RowAsync(poisoned)).Status, Is.EqualTo("UNSENT"));
        await ExecuteAsync("UPDATE messages SET status = 'ERROR', error_code = 'cancelled' WHERE id = @id", poisoned); // never sent
    }

    private static async Task<long> SendAsync(TestUser user, string recipient)
    {
        var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(recipient));
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
        return long.Parse(body.Str("id"), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A message as a dispatcher leaves it once it has claimed it and begun the call (or, with no attempts, before any
    /// claim), with no command in the queue.
    /// </summary>
    internal static async Task<long> InsertClaimedAsync(TestUser user, string local, TimeSpan leaseEnd, int attempts = 1,
        TimeSpan? validity = null)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  status, created_at, updated_at, expires_at, available_at, sweep_at, attempts,
                                  first_attempt_at, attempted_at, call_open)
            VALUES (@userId, 3, @recipient, '{}', 'en_GB', 'govsg_service_notice_v1', '{}', 'UNSENT', now(), now(),
                    now() + @validity, now() + @leaseEnd, now() + @leaseEnd, @attempts,
                    CASE WHEN @attempts > 0 THEN now() END, CASE WHEN @attempts > 0 THEN now() END, @attempts > 0)
            RETURNING id
            """, new { userId = user.Id, recipient = "+65" + local, validity = validity ?? TimeSpan.FromDays(1), leaseEnd, attempts });
    }

    /// <summary>
    /// A message whose first attempt's hold ended unadopted and whose second attempt is held now: its outcome is
    /// unknown, and a status naming it may still come.
    /// </summary>
    private static async Task<long> InsertHeldOnTheSecondAttemptAsync()
    {
        var id = await InsertClaimedAsync(await Env.CreateUserAsync(), TestRecipients.Next().Local, leaseEnd: TimeSpan.FromMinutes(10));
        await ExecuteAsync("""
            UPDATE messages SET attempts = 2, call_open = false, held_attempt = 2, held_at = now(),
                                available_at = now() + interval '1 minute', sweep_at = now() + interval '1 minute'
            WHERE id = @id
            """, id);
        return id;
    }

    /// <summary>The provider call a dispatcher makes for the message, tagged as it tags it; returns the wamid.</summary>
    private static async Task<string> CallProviderAsync(string digits, string opaqueData)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v21.0/{TestSettings.PhoneNumberId}/messages")
        {
            Content = JsonContent.Create(new
            {
                messaging_product = "whatsapp",
                recipient_type = "individual",
                to = digits,
                type = "template",
                biz_opaque_callback_data = opaqueData,
                template = new { name = "govsg_service_notice_v1", language = new { code = "en_GB", policy = "deterministic" } },
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestSettings.AccessToken);
        using var response = await Env.SimulatorClient.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("messages")[0].GetProperty("id").GetString()!;
    }

    private static async Task PostStatusAsync(string wamid, string status, string? opaqueData)
    {
        using var response = await Webhooks.PostSignedAsync(Env.Client(null),
            [new WebhookStatus(wamid, status, DateTime.UtcNow, OpaqueData: opaqueData)]);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Waits out a hold and a sweep, then checks the provider still has exactly the sends it had.</summary>
    private static async Task AssertNoFurtherSendAsync(string digits, int expected)
    {
        await Task.Delay(Hold + TimeSpan.FromSeconds(0.5));
        Assert.That(await Env.SimulatorSendsAsync(digits), Has.Count.EqualTo(expected));
    }

    [Test]
    public async Task Adoption_OfACallThatWaitedForItsTurn_IsAcceptedAtTheCallsTime()
    {
        // SPEC §5: an adopted message is ACCEPTED with accepted_at = the call's time. A claim reserves its calls' turns
        // first, and a batch's last call comes a second or more after the claim under load; an outside probe found
        // adopted messages accepted at the claim's time, up to 1.7 s before their call reached the provider.
        var user = await Env.CreateUserAsync();
        var (id, wamid) = await Callbacks.CallbackRaceTests.InsertMessageAsync(user.Id);
        var store = new SendStore(Env.Database, new SweepSchedule(TimeProvider.System), Options.Create(new RetryOptions()));
        var claimedAt = DateTime.UtcNow;
        claimedAt = new DateTime(claimedAt.Ticks - claimedAt.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
        var claim = (await store.ClaimAsync([id], claimedAt, claimedAt.AddMinutes(1), CancellationToken.None)).Single();
        var calledAt = claimedAt.AddSeconds(2);

        Assert.That(await store.HoldAsync(id, claim.Attempts, calledAt.AddMinutes(1), "timeout: No answer", calledAt,
            calledAt.AddSeconds(10), CancellationToken.None), Is.True);
        await new GovSg.Dispatcher.Statuses.StatusStore(Env.Database).ApplyAsync(
            [new GovSg.Dispatcher.Statuses.StatusEvent(wamid, "SENT", calledAt.AddSeconds(1), null, null, id, claim.Attempts)],
            DateTime.UtcNow, TimeSpan.FromSeconds(1), withSendTraces: false, CancellationToken.None);

        var row = await RowAsync(id);
        Assert.That((row.Status, row.ProviderMessageId, row.AcceptedAt), Is.EqualTo(("SENT", wamid, (DateTime?)calledAt)));
    }

    private static async Task<Row> RowAsync(long id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.QuerySingleAsync<Row>("""
            SELECT status::text AS "Status", attempts AS "Attempts", provider_message_id AS "ProviderMessageId",
                   call_open AS "CallOpen", held_attempt AS "HeldAttempt", accepted_at AS "AcceptedAt",
                   attempted_at AS "AttemptedAt", errored_at AS "ErroredAt", error_code AS "ErrorCode"
            FROM messages WHERE id = @id
            """, new { id });
    }

    private static async Task<DateTime?> DeliveredAtAsync(long id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<DateTime?>("SELECT delivered_at FROM messages WHERE id = @id", new { id });
    }

    private static async Task<int> ParkedAsync(string wamid)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM pending_status_events WHERE provider_message_id = @wamid", new { wamid });
    }

    private static async Task<int> ParkedLikeAsync(string pattern)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM pending_status_events WHERE provider_message_id LIKE @pattern", new { pattern });
    }

    private static async Task ExecuteAsync(string sql, params long[] ids)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, new { id = ids[0], ids });
    }

    private sealed record Row(string Status, int Attempts, string? ProviderMessageId, bool CallOpen, int? HeldAttempt,
        DateTime? AcceptedAt, DateTime? AttemptedAt, DateTime? ErroredAt, string? ErrorCode);
}
