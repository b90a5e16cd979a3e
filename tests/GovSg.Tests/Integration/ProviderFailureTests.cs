using System.Globalization;
using System.Net.Http.Json;
using Dapper;

namespace GovSg.Tests.Integration;

/// <summary>How provider failures end (SPEC §5), with the simulator answering as Meta does.</summary>
public sealed class ProviderFailureTests
{
    /// <summary>Marks the cases that slow down or pause the shared Dispatcher's provider gate, or change its settings.</summary>
    private const string ChangesTheDispatcher = "ChangesTheDispatcher";

    private static TestSystem Env => TestEnvironment.Current;

    /// <summary>A Dispatcher whose gate or settings were changed is replaced, so later tests start with a fresh one.</summary>
    [TearDown]
    public async Task TearDownAsync()
    {
        if (TestContext.CurrentContext.Test.Properties["Category"].Contains(ChangesTheDispatcher))
        {
            await Env.RestartDispatcherAsync();
        }
    }

    [Test]
    public async Task Send_WhenTheProviderRefusesPermanently_EndsInErrorWithItsCodeAtOnce()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 400, code = 131026 } });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ERROR");

        Assert.That(message.Str("status"), Is.EqualTo("ERROR"));
        Assert.That(message.Str("error_code"), Is.EqualTo("131026"));
        Assert.That(message.Str("error_description"), Does.Contain("undeliverable").IgnoreCase);
        Assert.That(message.Str("errored_at"), Is.Not.Empty);
        Assert.That(await AttemptsAsync(id), Is.EqualTo(1));
    }

    [TestCase(500, 131000)]
    [TestCase(400, 130429, Category = ChangesTheDispatcher)]
    [TestCase(503, 133004)]
    public async Task Send_WhenTheProviderFailsTransientlyTwice_RetriesAndIsAccepted(int status, int code)
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = status, code }, fail_times = 2 });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR");

        Assert.That(message.Str("status"), Is.Not.EqualTo("ERROR"));
        Assert.That(await AttemptsAsync(id), Is.EqualTo(3));
        Assert.That(await Env.SimulatorSendsAsync(digits), Has.Count.EqualTo(1));
    }

    [TestCase(503)]
    [TestCase(429)]
    public async Task Send_WhenAnIntermediaryAnswersWithoutJson_RetriesAndIsAccepted(int rawStatus)
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { raw_status = rawStatus }, fail_times = 1 });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR");

        Assert.That(message.Str("status"), Is.Not.EqualTo("ERROR"));
        Assert.That(await AttemptsAsync(id), Is.EqualTo(2));
    }

    [Test]
    public async Task Send_WhenTransientFailuresOutlastTheBudget_EndsInRetriesExhaustedNamingTheLastCode()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 500, code = 131016 } });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ERROR");

        Assert.That(message.Str("error_code"), Is.EqualTo("retries_exhausted"));
        Assert.That(message.Str("error_description"), Does.Contain("131016"));
        Assert.That(await AttemptsAsync(id), Is.GreaterThan(1));
    }

    [Test]
    public async Task Send_WhenTransientFailuresOutlastTheValidity_EndsExpiredOnlyOnceTheValidityIsOver()
    {
        // SPEC §3.2: one the provider has not accepted within its validity becomes ERROR expired. The last try comes just
        // before the validity ends, and its failure must not end the message while it is still valid.
        var user = await Env.CreateUserAsync();
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE users SET message_validity = interval '2.5 seconds' WHERE id = @id", new { id = user.Id });
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 500, code = 131000 } });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ERROR");
        var expiresAt = await connection.ExecuteScalarAsync<DateTime>("SELECT expires_at FROM messages WHERE id = @id",
            new { id = long.Parse(id, CultureInfo.InvariantCulture) });

        Assert.That(message.Str("error_code"), Is.EqualTo("expired"));
        Assert.That(message.Str("error_description"), Does.Contain("; last error 131000"));
        Assert.That(DateTime.Parse(message.Str("errored_at"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal),
            Is.GreaterThanOrEqualTo(expiresAt.AddTicks(-(expiresAt.Ticks % TimeSpan.TicksPerMillisecond))),
            "ended while still valid");
        Assert.That(await Env.SimulatorSendsAsync(digits), Is.Empty);
        Assert.That(await AttemptsAsync(id), Is.GreaterThan(1));
    }

    [Test]
    [Category(ChangesTheDispatcher)]
    public async Task Send_WhenTheProviderNeverAnswersInTimeNorReportsTheCall_HoldsBetweenTriesAndFinallyReportsTheTimeout()
    {
        // A budget the first 2 s timeout ends well within, even on a slow machine (the tests' 3 s left 1 s between the
        // claim and the call), and the second, 5 s or more after the first call, ends past.
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["Retry:Budget"] = "00:00:04.500" });
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 2_500, webhooks = "none" });

        var id = await SendAsync(user, local);
        var message = await Poll.UntilAsync(() => MessageJson.GetMessageAsync(user.Client, id), m => m.Str("status") == "ERROR",
            TimeSpan.FromSeconds(30));

        Assert.That(message.Str("error_code"), Is.EqualTo("retries_exhausted"));
        Assert.That(message.Str("error_description"), Does.Contain("timeout"));
        // The first call timed out within the budget: held 3 s (Retry:ReconcileHold), then sent once more. The second
        // timed out past the budget: held too, then given up rather than sent a third time.
        var sends = await Env.SimulatorSendsAsync(digits);
        Assert.That(sends, Has.Count.EqualTo(2));
        Assert.That(sends[1].ReceivedAt - sends[0].ReceivedAt, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(4.5)),
            "2 s timeout + 3 s hold between the sends");
        Assert.That(await AttemptsAsync(id), Is.EqualTo(3), "the third claim ended the hold without a call");
    }

    [Test]
    public async Task Send_WhenTheRecipientHitsThePairRateLimit_WaitsAtLeastThePairRateDelay()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 400, code = 131056 }, fail_times = 1 });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR");

        var created = DateTime.Parse(message.Str("created_at"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        var accepted = DateTime.Parse(message.Str("accepted_at"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        Assert.That(accepted - created, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1)), "Retry:PairRateDelay is 1 s in tests");
    }

    [Test]
    [Category(ChangesTheDispatcher)]
    public async Task Send_AfterTheRecipientHitThePairRateLimit_WaitsThePairRateDelayBeforeSendingThatRecipientAnotherMessage()
    {
        var (user, local, digits) = await PairRateRecipientAsync();

        var first = await SendAsync(user, local);
        // The first call to this recipient was answered 131056; it was made at attempted_at, before that answer.
        var firstCall = await Poll.UntilAsync(() => LastCallAsync(first), c => c.LastError?.StartsWith("131056", StringComparison.Ordinal) == true);
        // The wait is shared: every Dispatcher's claim reads it from the database, where it is written before the outcome.
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            var waitEnds = await connection.QuerySingleOrDefaultAsync<DateTime?>(
                "SELECT until FROM recipient_waits WHERE recipient = @recipient", new { recipient = "+" + digits });
            Assert.That(waitEnds, Is.GreaterThanOrEqualTo(firstCall.AttemptedAt.UtcDateTime.AddSeconds(5)));
        }

        var second = await SendAsync(user, local);
        await MessageJson.WaitForStatusAsync(user.Client, second, "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR");

        // The recipient, not only the message that was refused: another message to the same number is held back too.
        await AssertCalledAfterThePairRateWaitAsync(digits, second, firstCall.AttemptedAt);
    }

    [Test]
    [Category(ChangesTheDispatcher)]
    public async Task Batch_WhenOneOfTwoMessagesToARecipientHitsThePairRateLimit_WaitsThePairRateDelayBeforeCallingTheOther()
    {
        // One call a second: the second message's call comes a second after the first's, long after that first call's
        // 131056 was answered and the recipient's wait recorded.
        var (user, local, digits) = await PairRateRecipientAsync(("WhatsApp:MessagesPerSecond", "1"));

        // One batch is one command: both messages are claimed together, and called one slot apart.
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/transactional/govsg/batch")
        {
            Content = JsonContent.Create(new { messages = new[] { MessageJson.OfficerCall(local), MessageJson.OfficerCall(local) } }),
        };
        var (response, body) = await MessageJson.SendAsync(user.Client, request);
        Assert.That((int)response.StatusCode, Is.EqualTo(200), body.ToString());
        var ids = body.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("message").Str("id")).ToList();

        // Whichever was called first was answered 131056; its call was made at attempted_at, before that answer.
        var refused = await Poll.UntilAsync(async () => await Task.WhenAll(ids.Select(async id => (Id: id, Call: await LastCallAsync(id)))),
            calls => calls.Any(c => c.Call.LastError?.StartsWith("131056", StringComparison.Ordinal) == true));
        var (firstId, firstCall) = refused.First(c => c.Call.LastError?.StartsWith("131056", StringComparison.Ordinal) == true);
        var other = ids.Single(id => id != firstId);
        await MessageJson.WaitForStatusAsync(user.Client, other, "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR");

        // The other message was claimed before the wait was recorded, but called after it: it must wait too.
        await AssertCalledAfterThePairRateWaitAsync(digits, other, firstCall.AttemptedAt);
    }

    /// <summary>
    /// A recipient whose first call is answered 131056, with the Dispatcher restarted on a pair-rate wait (5 s) far
    /// longer than the rest of the pipeline takes and a retry budget that outlasts it.
    /// </summary>
    private static async Task<(TestUser User, string Local, string Digits)> PairRateRecipientAsync(params (string Key, string Value)[] settings)
    {
        var dispatcher = new Dictionary<string, string?> { ["Retry:PairRateDelay"] = "00:00:05", ["Retry:Budget"] = "00:00:30" };
        foreach (var (key, value) in settings)
        {
            dispatcher[key] = value;
        }

        await Env.RestartDispatcherAsync(dispatcher);
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 400, code = 131056 }, fail_times = 1 });
        return (user, local, digits);
    }

    /// <summary>
    /// SPEC §5: "131056 (pair rate: wait at least 6 s before that recipient is tried again)". A claim that meets the wait
    /// hands the message back uncalled, so the call that went out may be a later attempt.
    /// </summary>
    private static async Task AssertCalledAfterThePairRateWaitAsync(string digits, string id, DateTimeOffset refusedCallAt)
    {
        var call = (await Env.SimulatorSendsAsync(digits)).Single(s => s.OpaqueData?.StartsWith($"m:{id}:", StringComparison.Ordinal) == true);
        Assert.That(call.ReceivedAt - refusedCallAt, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5)),
            "another message to the recipient went out within the pair-rate wait after its 131056");
    }

    [Test]
    [Category(ChangesTheDispatcher)]
    public async Task Send_WhenTheProviderRejectsOurCredentialsForLongerThanTheRetryBudget_KeepsTheMessageAndSendsItLater()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 401, code = 190 }, fail_times = 4 });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR");

        // Four rejections with pauses of 0.5 s, 1 s, 1 s, 1 s outlast the 3 s retry budget, yet nothing was burned.
        Assert.That(message.Str("status"), Is.Not.EqualTo("ERROR"));
        Assert.That(await AttemptsAsync(id), Is.EqualTo(5));
    }

    [Test]
    [Category(ChangesTheDispatcher)]
    public async Task Send_WhenTheSenderNumberCannotBeLoaded_KeepsTheMessageUntilTheNumberIsFixed()
    {
        // Meta answers a phone number id that is wrong, or that our token lost access to, 400 with code 100 and
        // subcode 33, as the simulator does: our account is broken, not the message (SPEC §5).
        await Env.RestartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:PhoneNumberId"] = "100000000000001" });
        var user = await Env.CreateUserAsync();
        var (local, _) = TestRecipients.Next();

        var id = await SendAsync(user, local);
        var attempts = await Poll.UntilAsync(() => AttemptsAsync(id), a => a >= 2, TimeSpan.FromSeconds(15));
        var (_, lastError) = await LastCallAsync(id);
        var (_, message) = await MessageJson.GetAsync(user.Client, $"v1/transactional/govsg/{id}");
        await Env.RestartDispatcherAsync();
        var sent = await MessageJson.WaitForStatusAsync(user.Client, id, "ACCEPTED", "SENT", "DELIVERED", "READ", "ERROR");

        Assert.That(attempts, Is.GreaterThanOrEqualTo(2), "the call was tried again");
        Assert.That(lastError, Does.StartWith("100:"));
        Assert.That(message.Str("status"), Is.EqualTo("UNSENT"), "the message was kept, not ended as ERROR 100");
        Assert.That(sent.Str("status"), Is.Not.EqualTo("ERROR"), "once the number was right, it went out");
    }

    private static async Task<string> SendAsync(TestUser user, string recipient)
    {
        var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(recipient));
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
        return body.Str("id");
    }

    private static async Task<(DateTimeOffset AttemptedAt, string? LastError)> LastCallAsync(string id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        var row = await connection.QuerySingleAsync<(DateTime AttemptedAt, string? LastError)>(
            "SELECT attempted_at, last_error FROM messages WHERE id = @id", new { id = long.Parse(id, CultureInfo.InvariantCulture) });
        return (new DateTimeOffset(DateTime.SpecifyKind(row.AttemptedAt, DateTimeKind.Utc)), row.LastError);
    }

    private static async Task<int> AttemptsAsync(string id)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<int>("SELECT attempts FROM messages WHERE id = @id",
            new { id = long.Parse(id, CultureInfo.InvariantCulture) });
    }
}
