using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Dapper;
using GovSg.Contracts;
using GovSg.Dispatcher.Sending;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GovSg.Tests.Integration;

/// <summary>SPEC §8: nothing accepted is lost, nothing is sent twice, whatever happens to commands and dispatchers.</summary>
public sealed class DeliveryGuaranteeTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Send_WithTwoDispatchersAndDuplicatedCommands_CallsTheProviderExactlyOncePerMessage()
    {
        var user = await Env.CreateUserAsync();
        await using var second = await Env.StartDispatcherAsync();
        var bus = Env.Api.Services.GetRequiredService<IBus>();
        var recipients = Enumerable.Range(0, 100).Select(_ => TestRecipients.Next()).ToList();

        var ids = await Task.WhenAll(recipients.Select(async recipient =>
        {
            var (_, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(recipient.Local));
            var id = long.Parse(body.Str("id"), CultureInfo.InvariantCulture);
            // Redeliveries and stray re-publishes: three more commands for the same message, racing the first.
            await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => bus.Publish(new SendMessage(id))));
            return id;
        }));

        var finished = await Poll.UntilAsync(() => CountAsync(ids, "status <> 'UNSENT'"), n => n == ids.Length, TimeSpan.FromSeconds(30));
        Assert.That(finished, Is.EqualTo(ids.Length));
        Assert.That(await ProviderCallsPerRecipientAsync(recipients), Is.All.EqualTo(1));
        // No duplicate command ever claims a message again. The one second claim allowed is the reconciliation's: a
        // call that reached no answer within the harness's 2 s timeout (a busy machine) is held, then sent again.
        Assert.That(await CountAsync(ids, "attempts = 1 OR held_attempt = 1"), Is.EqualTo(ids.Length));
    }

    [Test]
    public async Task Send_WhenMessagesWaitForTheirTurnLongerThanTheClaimLease_StillCallsTheProviderOncePerMessage()
    {
        var user = await Env.CreateUserAsync();
        // A slow second dispatcher (4 calls/s) whose bare lease (1 s) is shorter than the wait for its later slots; the
        // fast one would take over any lapsed claim and send it too.
        await using var slow = await Env.StartDispatcherAsync(new Dictionary<string, string?>
        {
            ["WhatsApp:MessagesPerSecond"] = "4",
            ["Retry:ClaimLease"] = "00:00:01",
        });
        var recipients = Enumerable.Range(0, 24).Select(_ => TestRecipients.Next()).ToList();

        var ids = await SendToAsync(user, recipients);

        var finished = await Poll.UntilAsync(() => CountAsync(ids, "status <> 'UNSENT'"), n => n == ids.Length, TimeSpan.FromSeconds(30));
        Assert.That(finished, Is.EqualTo(ids.Length));
        Assert.That(await ProviderCallsPerRecipientAsync(recipients), Is.All.EqualTo(1));
    }

    [Test]
    public async Task Dispatcher_WhenStoppedWithMessagesWaitingForTheirTurn_HandsThemBackAtOnce()
    {
        var user = await Env.CreateUserAsync();
        // The shared dispatcher sits out while the messages are sent, so they reach the slow one (2 calls/s, a lease far
        // longer than the test): a quorum queue may hand every command of a short burst to one consumer.
        await Env.Dispatcher.DisposeAsync();
        await using var slow = await Env.StartDispatcherAsync(new Dictionary<string, string?>
        {
            ["WhatsApp:MessagesPerSecond"] = "2",
            ["Retry:ClaimLease"] = "00:05:00",
        });
        var recipients = Enumerable.Range(0, 30).Select(_ => TestRecipients.Next()).ToList();
        var ids = await SendToAsync(user, recipients);
        var heldBySlow = await Poll.UntilAsync(() => CountAsync(ids,
            "status = 'UNSENT' AND attempts = 1 AND available_at > now() + interval '2 minutes'"), n => n >= 5);
        await Env.RestartDispatcherAsync();
        Assert.That(heldBySlow, Is.GreaterThanOrEqualTo(5), "the slow dispatcher holds messages waiting for their turn");

        await slow.DisposeAsync();
        var finished = await Poll.UntilAsync(() => CountAsync(ids, "status <> 'UNSENT'"), n => n == ids.Length, TimeSpan.FromSeconds(30));

        Assert.That(finished, Is.EqualTo(ids.Length), "handed back, not left to their five-minute lease");
        Assert.That(await CountAsync(ids, "attempts = 2"), Is.GreaterThan(0),
            "claimed by the slow dispatcher, then handed back and sent by the other rather than at the slow pace during shutdown");
        Assert.That(await ProviderCallsPerRecipientAsync(recipients), Is.All.EqualTo(1));
    }

    [Test]
    public async Task Dispatcher_WhenStoppingBeforeItReservesSlots_ReturnsTheCommandsToTheQueue()
    {
        // Only a command in the queue sends them now.
        var ids = await StoredOutOfTheSweepsReachAsync(2);

        await using var stopping = await Env.StartDispatcherAsync();
        stopping.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        // What the consumer does with commands delivered once the dispatcher is stopping.
        await stopping.Services.GetRequiredService<MessageSender>()
            .SendAsync([.. ids.Select(id => new SendCommand(id, default))], CancellationToken.None);
        var finished = await Poll.UntilAsync(() => CountAsync(ids, "status <> 'UNSENT'"), n => n == ids.Length, TimeSpan.FromSeconds(15));

        Assert.That(finished, Is.EqualTo(ids.Length), "returned to the queue and sent by the other dispatcher");
        Assert.That(await CountAsync(ids, "attempts = 1"), Is.EqualTo(ids.Length), "claimed once, by the other dispatcher");
    }

    [TestCase(500)]
    [TestCase(30_000)] // far past the Dispatchers' clock tolerance (1 s)
    public async Task Api_WhoseClockIsAheadOfTheDispatchers_HasItsNewMessagesClaimedFromTheirCommands(int leadMilliseconds)
    {
        // A new message is stamped by the Api's clock. A Dispatcher whose clock is behind it by more than a command's trip
        // must still claim it from its command, not skip it and leave it until the Dispatcher's clock reaches the Api's
        // or the lost-command sweep a pick-up deadline later (60 s by default, and here), for every message, silently.
        // Nor may its acceptance then be stamped before the message was created.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["Sweep:PickUpDeadline"] = "00:01:00" });
        try
        {
            var user = await Env.CreateUserAsync();
            var api = Env.StartApi(new Dictionary<string, string?>(), services =>
                services.AddSingleton<TimeProvider>(new LeadingTime(TimeSpan.FromMilliseconds(leadMilliseconds))));
            await TestSystem.WaitForBusAsync(api.Services);
            using var client = api.CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.Key);
            var took = new List<TimeSpan>();
            var shown = new List<string[]>();
            foreach (var _ in Enumerable.Range(0, 4))
            {
                var started = DateTime.UtcNow;
                var (_, message) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
                var accepted = await MessageJson.WaitForStatusAsync(client, message.Str("id"), "ACCEPTED", "SENT", "DELIVERED", "READ");
                took.Add(DateTime.UtcNow - started);
                shown.Add([accepted.Str("created_at"), accepted.Str("accepted_at"), accepted.Str("updated_at")]);
            }

            // Claimed from their commands, not half a minute later: well within that, however busy the machine.
            Assert.That(took, Is.All.LessThan(TimeSpan.FromSeconds(10)));
            Assert.That(shown.Select(times => times.Select(t => DateTime.Parse(t, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind))),
                Is.All.Ordered, "created_at, accepted_at, updated_at: " + string.Join("; ", shown.Select(t => string.Join(" ", t))));
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    [Test]
    public async Task Api_StoppingRightAfterItsAnswers_PublishesTheCommandsStillQueued()
    {
        var ids = await StoredOutOfTheSweepsReachAsync(40);
        var api = Env.StartApi(new Dictionary<string, string?>());
        await TestSystem.WaitForBusAsync(api.Services);

        // What the last requests before a SIGTERM leave behind: answered, their commands queued, then the host stops.
        var publisher = api.Services.GetRequiredService<GovSg.Api.Messages.CommandPublisher>();
        foreach (var id in ids)
        {
            publisher.Publish(id, test: false);
        }

        await api.DisposeAsync();
        var finished = await Poll.UntilAsync(() => CountAsync(ids, "status <> 'UNSENT'"), n => n == ids.Length, TimeSpan.FromSeconds(15));

        Assert.That(finished, Is.EqualTo(ids.Length), "published before the bus stopped, not left to the sweep");
    }

    [Test]
    public async Task SendStore_WhenAClaimLapsedAndWasTakenAgain_DropsTheStaleClaimsOutcome()
    {
        var user = await Env.CreateUserAsync();
        var id = await AcceptWithoutCommandAsync(user);
        var store = Env.Dispatcher.Services.GetRequiredService<GovSg.Dispatcher.Sending.SendStore>();
        // The clock is the test's: the first claim's lease lapses at a "now" the sweeper will not reach for minutes.
        var now = DateTime.UtcNow;
        var first = await store.ClaimAsync([id], now, now.AddMinutes(10), CancellationToken.None);
        // Its call timed out and the hold that reconciles it ended with nothing adopted.
        await store.HoldAsync(id, first.Single().Attempts, now.AddMinutes(10), "timeout", null, now, CancellationToken.None);
        var second = await store.ClaimAsync([id], now.AddMinutes(11), now.AddMinutes(20), CancellationToken.None);

        var staleFail = await store.FailAsync(id, first.Single().Attempts, "131026", "stale", now, CancellationToken.None);
        var staleRetry = await store.RetryAsync(id, first.Single().Attempts, now, "stale", CancellationToken.None);
        var currentRetry = await store.RetryAsync(id, second.Single().Attempts, now.AddMinutes(1), "current", CancellationToken.None);

        Assert.That((staleFail, staleRetry, currentRetry), Is.EqualTo((false, false, true)));
        Assert.That(await CountAsync([id], "status = 'UNSENT' AND attempts = 2 AND last_error = 'current'"), Is.EqualTo(1));
    }

    [TestCase(true, false)]
    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public async Task SendStore_AClaimHandedBackUncalledOrDeferredWhilePaused_LeavesAReSendAReSend(bool afterAHold, bool paused)
    {
        var user = await Env.CreateUserAsync();
        var id = await AcceptWithoutCommandAsync(user);
        var store = Env.Dispatcher.Services.GetRequiredService<GovSg.Dispatcher.Sending.SendStore>();
        // The clock is the test's, minutes ahead, so the sweeper leaves the message to it.
        var now = DateTime.UtcNow.AddMinutes(10);
        var claim = (await store.ClaimAsync([id], now, now.AddMinutes(5), CancellationToken.None)).Single();
        if (afterAHold)
        {
            // The call's outcome was unknown, and the hold ended with no status adopting it: the next call is a re-send.
            await store.HoldAsync(id, claim.Attempts, now.AddMinutes(1), "timeout", null, now, CancellationToken.None);
            now = now.AddMinutes(2);
            claim = (await store.ClaimAsync([id], now, now.AddMinutes(5), CancellationToken.None)).Single();
            Assert.That(claim.Resend, Is.True);
        }

        // The dispatcher stopped before the call, or sending was paused (our credentials were refused).
        var handedBack = paused
            ? await store.DeferAsync(id, claim.Attempts, now, "not_called: Sending paused", called: false, CancellationToken.None)
            : await store.HandBackAsync(id, claim.Attempts, now, CancellationToken.None);
        var next = (await store.ClaimAsync([id], now, now.AddMinutes(5), CancellationToken.None)).Single();

        Assert.That(handedBack, Is.True);
        Assert.That(next.Attempts, Is.EqualTo(claim.Attempts + 1));
        Assert.That(next.Resend, Is.EqualTo(afterAHold), "only a re-send stays one");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task SendStore_AClaimHandedBackUncalled_DoesNotStartTheRetryBudget(bool calledBefore)
    {
        var user = await Env.CreateUserAsync();
        var id = await AcceptWithoutCommandAsync(user);
        var store = Env.Dispatcher.Services.GetRequiredService<SendStore>();
        // The clock is the test's, minutes ahead, so the sweeper leaves the message to it.
        var start = DateTime.UtcNow.AddMinutes(10);
        var now = start;
        if (calledBefore)
        {
            // A call that failed for a while: the budget runs from it.
            var call = (await store.ClaimAsync([id], now, now.AddMinutes(5), CancellationToken.None)).Single();
            await store.RetryAsync(id, call.Attempts, now, "131000", CancellationToken.None);
        }

        // A claim whose slot came after its lease, and the next claim twenty minutes on, as a long backlog makes them.
        now = now.AddSeconds(1);
        var late = (await store.ClaimAsync([id], now, now.AddMinutes(5), CancellationToken.None)).Single();
        await store.HandBackAsync(id, late.Attempts, now, CancellationToken.None);
        now = now.AddMinutes(20);
        var next = (await store.ClaimAsync([id], now, now.AddMinutes(5), CancellationToken.None)).Single();

        Assert.That(next.FirstAttemptAt, Is.EqualTo(calledBefore ? start : now).Within(TimeSpan.FromMilliseconds(1)));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task SweepStore_ACommandTheSweepCouldNotPublish_IsDueAgainAtOnceUnlessRescheduledSince(bool claimedSince)
    {
        var user = await Env.CreateUserAsync();
        var id = await AcceptWithoutCommandAsync(user);
        var store = Env.Dispatcher.Services.GetRequiredService<SendStore>();
        // The clock is the test's, minutes ahead, so the sweeper leaves the message to it. A sweep took the message (its
        // next sweep a deadline away), and the publish of its command failed.
        var now = DateTime.UtcNow.AddMinutes(10);
        var deadline = TimeSpan.FromMinutes(1);
        var takenUntil = now + deadline;
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE messages SET sweep_at = @takenUntil WHERE id = @id", new { id, takenUntil });

        // The command reached the broker after all, and the call it led to is to be retried in two minutes.
        var retryAt = now.AddMinutes(2);
        if (claimedSince)
        {
            var claim = (await store.ClaimAsync([id], now, now.AddMinutes(5), CancellationToken.None)).Single();
            Assert.That(await store.RetryAsync(id, claim.Attempts, retryAt, "131000", CancellationToken.None), Is.True);
        }

        await new GovSg.Dispatcher.Sweeping.SweepStore(Env.Database).MakeDueAsync([id], takenUntil, CancellationToken.None);

        var sweepAt = await connection.ExecuteScalarAsync<DateTime>("SELECT sweep_at FROM messages WHERE id = @id", new { id });
        if (claimedSince)
        {
            Assert.That(sweepAt, Is.EqualTo(retryAt).Within(TimeSpan.FromMilliseconds(1)), "the retry keeps its own time");
        }
        else
        {
            // Due for the strictest lost-command cut-off a sweep uses (a pick-up deadline before now): back to when the
            // message was stored.
            Assert.That(sweepAt, Is.LessThanOrEqualTo(now - deadline));
        }
    }

    /// <summary>
    /// Behind a backlog the sweep does not re-publish the commands the Api published (they may still be queued), but the
    /// Api's hand-over says that none went out: those messages are published at once.
    /// </summary>
    [Test]
    public async Task SweepStore_BehindABacklog_TakesTheMessagesHandedToIt_NotThoseWhoseCommandMayBeQueued()
    {
        var ids = await StoredOutOfTheSweepsReachAsync(2);
        var (handed, queued) = (ids[0], ids[1]);
        // The clock is the test's, minutes ahead, so the sweeper leaves both messages to it: stored then, their pick-up
        // deadline a minute later.
        var now = DateTime.UtcNow.AddMinutes(10);
        var deadline = TimeSpan.FromMinutes(1);
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE messages SET available_at = @now, sweep_at = @deadlineAt WHERE id = ANY(@ids)",
            new { now, deadlineAt = now + deadline, ids });
        var messages = Env.Api.Services.GetRequiredService<GovSg.Api.Messages.MessageStore>();
        Assert.That(await messages.HandToSweepAsync([handed], deadline, CancellationToken.None), Is.EqualTo(1));

        // Past both deadlines, behind a backlog: no pick-up deadline is judged (null cut-offs).
        var later = now + 2 * deadline;
        var sweep = new GovSg.Dispatcher.Sweeping.SweepStore(Env.Database);
        var taken = await sweep.TakeDueAsync(later, later + deadline, republishedLostBy: null, unclaimedLostBy: null,
            limit: 100, CancellationToken.None);
        // As a sweep that could not publish does: what it took (earlier tests' rows too) is due again as it was.
        await sweep.MakeDueAsync([.. taken.Select(m => m.Id)], later + deadline, CancellationToken.None);

        Assert.That(taken.Select(m => m.Id), Does.Contain(handed).And.Not.Contain(queued));
    }

    [Test]
    public async Task Dispatchers_ReserveCallSlotsFromTheNumbersOneSchedule_AndBothSlowDownOnA130429()
    {
        var gate = Env.Dispatcher.Services.GetRequiredService<ProviderGate>();
        await using var second = await Env.StartDispatcherAsync();
        var other = second.Services.GetRequiredService<ProviderGate>();

        var grants = await Task.WhenAll(Enumerable.Range(0, 20)
            .Select(i => (i % 2 == 0 ? gate : other).ReserveAsync(50, CancellationToken.None)));
        var slots = grants.SelectMany(g => Enumerable.Range(0, g!.Count).Select(g.Slot)).Order().ToList();
        var turn = await gate.TurnAsync(grants[0]!.First, CancellationToken.None);
        await gate.ThroughputExceededAsync(turn!);
        // The other dispatcher learns of the cut from the schedule its calls' turns re-read in the background, at most
        // RefreshEvery after they last did.
        other.CallReturned();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (other.CurrentInterval < TimeSpan.FromTicks(1_500) && DateTime.UtcNow < deadline)
        {
            await other.TurnAsync(grants[^1]!.First, CancellationToken.None);
            await Task.Delay(ProviderGate.RefreshEvery / 4);
        }

        // WhatsApp:MessagesPerSecond is 10,000 in tests: one slot every 100 µs for both together (PostgreSQL keeps µs).
        Assert.That(slots.Zip(slots.Skip(1), (a, b) => b - a), Is.All.GreaterThanOrEqualTo(TimeSpan.FromTicks(990)));
        Assert.That(other.CurrentInterval, Is.EqualTo(TimeSpan.FromTicks(2_000)).Within(TimeSpan.FromTicks(200)),
            "a 130429 met by one dispatcher halves the pace of the other");
    }

    [Test]
    public async Task Dispatcher_SmallReservationsAskedForAtOnce_ShareScheduleChanges_AndEachGetsSlotsOfItsOwn()
    {
        var gate = Env.Dispatcher.Services.GetRequiredService<ProviderGate>();
        var store = Env.Dispatcher.Services.GetRequiredService<PaceStore>();
        Assert.That(await gate.ReserveAsync(1, CancellationToken.None), Is.Not.Null, "the number's schedule is stored");
        // Every change of the number's schedule counts, whoever makes it: the shared Dispatcher may still be sending, or
        // releasing slots of, earlier tests' messages. Start once the schedule has stood still for a while.
        var before = await Poll.UntilAsync(async () =>
        {
            var first = (await store.ReadAsync(CancellationToken.None)).State?.Version ?? 0;
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            return (First: first, Then: (await store.ReadAsync(CancellationToken.None)).State?.Version ?? 0);
        }, versions => versions.First == versions.Then, TimeSpan.FromSeconds(30));
        Assert.That(before.First, Is.EqualTo(before.Then), "the schedule never stood still for half a second");

        // Coalesced single sends' commands ask for a few slots each: those that queue behind one reservation are
        // served by the next together, rather than a database round trip each. The schedule's row is locked meanwhile, so
        // the first reservation's change waits in the database while the others are asked for: on a busy machine each
        // could otherwise be answered before the next is asked for, with nothing queued to share it.
        var grants = await HoldingThePaceRowAsync(() =>
            Task.WhenAll(Enumerable.Range(0, 40).Select(_ => gate.ReserveAsync(3, CancellationToken.None))));
        var after = (await store.ReadAsync(CancellationToken.None)).State!.Version;

        var slots = grants.SelectMany(g => Enumerable.Range(0, g!.Count).Select(g.Slot)).ToList();
        Assert.That(slots, Is.Unique.And.Count.EqualTo(120));
        Assert.That(grants.Select(g => g!.Count), Is.All.EqualTo(3));
        Assert.That(after - before.Then, Is.InRange(3, 39), "40 reservations, at most 16 to a change of the schedule");
    }

    /// <summary>Starts <paramref name="start"/> while every number's schedule row is locked, and unlocks it 0.5 s later.</summary>
    private static async Task<T> HoldingThePaceRowAsync<T>(Func<Task<T>> start)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("SELECT 1 FROM provider_pace FOR UPDATE", transaction: transaction);
        var started = start();
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await transaction.CommitAsync();
        return await started;
    }

    [Test]
    public async Task Send_WhileTheBrokerIsUnreachable_Answers201AtOnceAndTheSweeperPublishesItLater()
    {
        var user = await Env.CreateUserAsync();
        // The longest publish timeout allowed: a request that waited on the dead broker would take at least this long.
        var publishTimeout = TimeSpan.FromSeconds(30);
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["RabbitMq:Port"] = "1",
            ["RabbitMq:PublishTimeout"] = publishTimeout.ToString("c", CultureInfo.InvariantCulture),
        });
        using var client = WithKey(api.CreateClient(), user.Key);
        var (local, digits) = TestRecipients.Next();

        var started = System.Diagnostics.Stopwatch.StartNew();
        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(local));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(started.Elapsed, Is.LessThan(publishTimeout), "no waiting on the dead broker");
        var message = await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "ACCEPTED", "SENT", "DELIVERED", "READ");
        Assert.That(message.Str("status"), Is.Not.EqualTo("UNSENT"));
        Assert.That(await Env.SimulatorSendsAsync(digits), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Health_WhileTheBrokerIsUnreachable_StaysReadyButDegraded()
    {
        await using var relay = TcpRelay.Start(TestSettings.RabbitHost, TestSettings.RabbitPort);
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["RabbitMq:Host"] = "127.0.0.1",
            ["RabbitMq:Port"] = relay.Port.ToString(CultureInfo.InvariantCulture),
        });
        using var client = api.CreateClient();
        await TestSystem.WaitForBusAsync(api.Services);
        var (before, _) = await MessageJson.GetAsync(client, "health/ready");

        relay.Cut();
        var (response, health) = await Poll.UntilAsync(() => MessageJson.GetAsync(client, "health/ready"),
            r => r.Body.Str("status") == "Degraded");

        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a load balancer must keep routing agencies to it");
        var broker = health.GetProperty("checks").GetProperty("masstransit-bus");
        Assert.That(broker.Str("status"), Is.EqualTo("Degraded"));
        Assert.That(broker.Str("reason"), Is.Not.Empty);
        Assert.That(health.GetProperty("checks").GetProperty("postgres").Str("status"), Is.EqualTo("Healthy"));
    }

    [Test]
    public async Task Send_WhenTheDatabaseIsUnreachable_Answers503AndStaysInTheLoadBalancer()
    {
        var user = await Env.CreateUserAsync();
        await using var database = TcpRelay.InFrontOfPostgres(TestSettings.ApiPostgres, out var postgres);
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
        });
        using var client = WithKey(api.CreateClient(), user.Key);
        using var probe = api.CreateClient();
        var before = await probe.GetAsync("health/ready");

        database.Cut();
        var (response, error) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        var ready = await probe.GetAsync("health/ready");
        var live = await probe.GetAsync("health/live");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(error.Str("code"), Is.EqualTo("service_unavailable"));
        Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(5)));
        // Degraded, not unready: an Api taken out of the load balancer could not give that 503 (HealthTests).
        Assert.That((before.StatusCode, ready.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)));
        Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Api_DuringADatabaseOutage_LogsOneLineForManyFailedRequests()
    {
        var user = await Env.CreateUserAsync();
        var logs = new Security.LogCapture();
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = TestSettings.UnreachablePostgres,
        }, services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        using var client = WithKey(api.CreateClient(), user.Key);
        // A path holds whatever a caller puts there: the line names the route, not a phone number sent as a message id.
        var recipient = TestRecipients.Next().Local;
        Assert.That((await client.GetAsync($"v1/transactional/govsg/{recipient}")).StatusCode,
            Is.EqualTo(HttpStatusCode.ServiceUnavailable));

        for (var i = 0; i < 4; i++)
        {
            var (response, _) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        }

        var lines = logs.Lines.Where(line => line.StartsWith("Database unavailable while handling", StringComparison.Ordinal)).ToList();
        Assert.That(lines, Has.Count.EqualTo(1));
        Assert.That(lines[0], Does.StartWith("Database unavailable while handling GET /v1/transactional/govsg/{"));
        Assert.That(lines[0], Does.Not.Contain(recipient));
    }

    [Test]
    public async Task Sweeper_WhenAClaimLapsesBecauseItsDispatcherDied_HoldsItThenSendsItAgain()
    {
        var user = await Env.CreateUserAsync();
        var id = await AcceptWithoutCommandAsync(user);
        // What a dispatcher that claimed the message and then crashed, with no status naming its call, leaves behind.
        await ExecuteAsync("""
            UPDATE messages SET attempts = 1, first_attempt_at = now(), attempted_at = now(), call_open = true,
                                available_at = now() + interval '500 ms', sweep_at = now() + interval '500 ms'
            WHERE id = @id
            """, id);

        var held = await Poll.UntilAsync(() => CountAsync([id], "held_attempt = 1 AND NOT call_open AND status = 'UNSENT'"), n => n == 1);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id.ToString(CultureInfo.InvariantCulture),
            "ACCEPTED", "SENT", "DELIVERED", "READ");

        Assert.That(held, Is.EqualTo(1), "reconciled before it is sent again");
        Assert.That(message.Str("status"), Is.Not.EqualTo("UNSENT"));
        Assert.That(await CountAsync([id], "attempts = 2"), Is.EqualTo(1));
    }

    [Test]
    public async Task Sweeper_WhenAMessageOutlivesItsValidity_EndsItInErrorExpiredWithoutSending()
    {
        var user = await Env.CreateUserAsync();
        var id = await AcceptWithoutCommandAsync(user);
        await ExecuteAsync("UPDATE messages SET expires_at = now() - interval '1 second' WHERE id = @id", id);

        var message = await MessageJson.WaitForStatusAsync(user.Client, id.ToString(CultureInfo.InvariantCulture), "ERROR");

        Assert.That(message.Str("error_code"), Is.EqualTo("expired"));
        Assert.That(await CountAsync([id], "attempts = 0 AND provider_message_id IS NULL"), Is.EqualTo(1));
    }

    /// <summary>
    /// Claimed messages wait for their slots at the number's pace. One whose validity ends before its slot comes is not
    /// called: the provider never gets it, and it ends expired, as SPEC §3.2 promises ("must not go out the next day").
    /// </summary>
    [Test]
    public async Task Dispatcher_WhenAClaimedMessagesValidityEndsBeforeItsSlot_NeverCallsItAndItExpires()
    {
        // One call a second: eight messages claimed at once are called over eight seconds, most after their validity.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:MessagesPerSecond"] = "1" });
        try
        {
            var user = await Env.CreateUserAsync();
            // Below the admin CLI's floor, which exists for this very reason.
            await ExecuteAsync("UPDATE users SET message_validity = interval '3 seconds' WHERE id = @id", user.Id);
            var recipients = Enumerable.Range(0, 8).Select(_ => TestRecipients.Next()).ToList();
            var ids = await SendToAsync(user, recipients);

            await Poll.UntilAsync(() => CountAsync(ids, "status <> 'UNSENT'"), n => n == ids.Length, TimeSpan.FromSeconds(20));
            var calls = await ProviderCallsPerRecipientAsync(recipients);
            var expired = await CountAsync(ids, "status = 'ERROR' AND error_code = 'expired'");

            Assert.That(expired, Is.GreaterThan(0), "every message was called, however late its slot");
            Assert.That(calls.Sum(), Is.EqualTo(ids.Length - expired), "an expired message reached the provider");
            Assert.That(await CountAsync(ids, "status = 'ERROR' AND error_code <> 'expired'"), Is.Zero);
        }
        finally
        {
            await Env.RestartDispatcherAsync();
        }
    }

    /// <summary>
    /// A test key's message takes no slot of the number's pace (SPEC §11.2), and its command says so. The command the
    /// sweep publishes for a message whose own was lost says so too, and never mixes the two kinds.
    /// </summary>
    [Test]
    public async Task Sweeper_RepublishesTestKeysMessagesInCommandsThatSaySo()
    {
        var user = await Env.CreateUserAsync();
        var (testKey, _) = await Env.CreateKeyAsync(user.Id, DateTime.UtcNow.AddDays(1), "test");
        await using var tap = await BrokerTap.StartAsync("GovSg.Contracts:SendMessages");
        var live = await AcceptWithoutCommandAsync(user);
        var test = await AcceptWithoutCommandAsync(user with { Key = testKey });

        var commands = await tap.CommandsNamingAsync([live, test], TimeSpan.FromSeconds(30));

        Assert.That(commands.Where(c => c.Ids.Contains(test)).Select(c => c.Test), Is.Not.Empty.And.All.True);
        Assert.That(commands.Where(c => c.Ids.Contains(live)).Select(c => c.Test), Is.Not.Empty.And.All.False);
    }

    /// <summary>
    /// Accepts a message through an Api that cannot reach the broker nor hand its command to the sweep, so no command
    /// exists for it until its pick-up deadline.
    /// </summary>
    private static async Task<long> AcceptWithoutCommandAsync(TestUser user)
    {
        var api = Env.StartApiWithoutCommands();
        using var client = WithKey(api.CreateClient(), user.Key);
        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        return long.Parse(body.Str("id"), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Messages of a new user, accepted with no command published (the broker unreachable, and the hand-over to the sweep
    /// too) and out of the lost-command sweep's reach for a test's length (a ten-minute pick-up deadline).
    /// </summary>
    internal static Task<long[]> StoredOutOfTheSweepsReachAsync(int count) =>
        StoredOutOfTheSweepsReachAsync(Enumerable.Range(0, count).Select(_ => TestRecipients.Next()));

    internal static async Task<long[]> StoredOutOfTheSweepsReachAsync(IEnumerable<(string Local, string Digits)> recipients)
    {
        var user = await Env.CreateUserAsync();
        var api = Env.StartApiWithoutCommands(new Dictionary<string, string?> { ["Messages:PickUpDeadline"] = "00:10:00" });
        return await SendToAsync(user with { Client = WithKey(api.CreateClient(), user.Key) }, recipients);
    }

    private static HttpClient WithKey(HttpClient client, string key)
    {
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static Task<long[]> SendToAsync(TestUser user, IEnumerable<(string Local, string Digits)> recipients) =>
        Task.WhenAll(recipients.Select(async recipient =>
        {
            var (_, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(recipient.Local));
            return long.Parse(body.Str("id"), CultureInfo.InvariantCulture);
        }));

    private static Task<int[]> ProviderCallsPerRecipientAsync(IEnumerable<(string Local, string Digits)> recipients) =>
        Task.WhenAll(recipients.Select(async r => (await Env.SimulatorSendsAsync(r.Digits)).Count));

    private static async Task<int> CountAsync(long[] ids, string condition)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<int>($"SELECT count(*) FROM messages WHERE id = ANY(@ids) AND ({condition})", new { ids });
    }

    private static async Task ExecuteAsync(string sql, long id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, new { id });
    }
}
