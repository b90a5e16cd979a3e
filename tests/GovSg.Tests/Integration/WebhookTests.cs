using System.Globalization;
using System.Net;
using Dapper;
using GovSg.Api.Extensions;

namespace GovSg.Tests.Integration;

/// <summary>Provider status webhooks end to end (SPEC §6): simulator or test → Api → RabbitMQ → Dispatcher → PostgreSQL.</summary>
public sealed class WebhookTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Send_WithTheSimulatorsNormalWebhooks_ReachesReadWithEveryTimestamp()
    {
        var user = await Env.CreateUserAsync();

        var id = await SendAsync(user, TestRecipients.Next().Local);
        await MessageJson.WaitForStatusAsync(user.Client, id, "READ");
        // Each receipt is its own webhook, so 'read' may be applied before 'delivered' fills its timestamp.
        var message = await Poll.UntilAsync(() => MessageJson.GetMessageAsync(user.Client, id),
            m => new[] { "accepted_at", "sent_at", "delivered_at", "read_at" }.All(p => m.Str(p).Length > 0));

        Assert.That(message.Str("status"), Is.EqualTo("READ"));
        Assert.That(new[] { "accepted_at", "sent_at", "delivered_at", "read_at" }.Select(p => message.Str(p)), Has.None.Empty);
        Assert.That(message.Str("errored_at"), Is.Empty);
    }

    [TestCase("reorder")]
    [TestCase("duplicate")]
    [TestCase("overtake")]
    public async Task Send_WhenWebhooksComeReorderedDuplicatedOrBeforeTheSendAnswer_StillReachesRead(string mode)
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = mode });

        var id = await SendAsync(user, local);
        // An overtaking 'sent' is parked until ACCEPTED is written, so it may land after 'read': poll for all three.
        var message = await Poll.UntilAsync(() => MessageJson.GetMessageAsync(user.Client, id),
            m => new[] { "sent_at", "delivered_at", "read_at" }.All(p => m.Str(p).Length > 0));

        Assert.That(message.Str("status"), Is.EqualTo("READ"));
        Assert.That(new[] { "sent_at", "delivered_at", "read_at" }.Select(p => message.Str(p)), Has.None.Empty);
    }

    [Test]
    public async Task Send_WhenReadArrivesWithoutDelivered_IsReadWithNoDeliveredTime()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "read_without_delivered" });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "READ");

        Assert.That(message.Str("status"), Is.EqualTo("READ"));
        Assert.That(message.Str("delivered_at"), Is.Empty);
    }

    [Test]
    public async Task Send_WhenTheProviderReportsFailed_EndsInErrorWithMetasCodeAndDescription()
    {
        var user = await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "failed", webhook_error_code = 131026 });

        var id = await SendAsync(user, local);
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ERROR");

        Assert.That(message.Str("status"), Is.EqualTo("ERROR"));
        Assert.That(message.Str("error_code"), Is.EqualTo("131026"));
        Assert.That(message.Str("error_description"), Does.Contain("Message undeliverable"));
        Assert.That(message.Str("errored_at"), Is.Not.Empty);
        Assert.That(message.Str("accepted_at"), Is.Not.Empty);
    }

    // SPEC §4: "or `ERROR` (`errored_at`, `error_code`, `error_description`)" — an ERROR always says why.
    // SPEC §6: "Process **every** status in every entry" — a `failed` without Meta's `errors` array still ends in a coded ERROR.
    [Test]
    public async Task Receive_WhenAFailedStatusCarriesNoErrorsArray_EndsInErrorWithAnErrorCodeAndDescription()
    {
        var (user, id, providerId) = await AcceptedWithoutWebhooksAsync();

        using var response = await Webhooks.PostSignedAsync(Env.Client(null), [new WebhookStatus(providerId, "failed", DateTime.UtcNow)]);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "ERROR");
        Assert.That(message.Str("status"), Is.EqualTo("ERROR"));
        Assert.That(message.Str("error_code"), Is.Not.Empty, "an ERROR with error_code null tells the agency nothing");
        Assert.That(message.Str("error_description"), Is.Not.Empty);
    }

    [TestCase(null)]
    [TestCase("sha256=0000000000000000000000000000000000000000000000000000000000000000")]
    [TestCase("sha256=nothex")]
    [TestCase("sha1=abc")]
    public async Task Receive_WhenTheSignatureIsMissingOrWrong_Answers401AndChangesNothing(string? signature)
    {
        var (user, id, providerId) = await AcceptedWithoutWebhooksAsync();
        var body = Webhooks.Body([new WebhookStatus(providerId, "delivered", DateTime.UtcNow)]);

        using var response = await Webhooks.PostAsync(Env.Client(null), body, signature);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        // The positive control: the same body, correctly signed, does move the message.
        using var signed = await Webhooks.PostAsync(Env.Client(null), body, Webhooks.Sign(body));
        Assert.That(signed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "DELIVERED");
        Assert.That(message.Str("status"), Is.EqualTo("DELIVERED"));
    }

    /// <summary>
    /// Unsigned traffic is refused on its headers, before the Api reads (and buffers up to 1 MiB of) its body: a request
    /// that announces a body and never sends it is answered 401 at once, not left waiting for the body.
    /// </summary>
    [Test]
    public async Task Receive_WithoutASignature_IsRefusedBeforeItsBodyIsRead()
    {
        var api = Env.Client(null).BaseAddress!;
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(api.Host, api.Port);
        var stream = tcp.GetStream();
        var head = $"POST /{Webhooks.Path} HTTP/1.1\r\nHost: {api.Authority}\r\nContent-Type: application/json\r\n" +
                   "Content-Length: 1000000\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));

        // Under the 5 s Kestrel waits for a body before giving up on it.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var answer = new byte[64];
        var read = await stream.ReadAsync(answer, timeout.Token);

        Assert.That(System.Text.Encoding.ASCII.GetString(answer, 0, read), Does.StartWith("HTTP/1.1 401"));
    }

    // A signature header of the right shape is anyone's to write, and passes the check made before the body is read. An
    // outside security review held 40 connections, each with 1 MiB of body buffered, for over an hour: enough of them
    // take an Api's memory. Kestrel's minimum data rate is an average, which 128 KiB sent at once satisfies for minutes.
    [Test]
    public async Task Receive_WhoseBodyStopsArrivingAfterAWellFormedSignature_IsRefusedAtItsDeadline()
    {
        var api = Env.StartApi(new Dictionary<string, string?> { ["Webhooks:BodyTimeout"] = "00:00:01" }, kestrel: true);
        using var stalled = await StartWebhookAsync(api.Address, contentLength: 1_000_000, sent: 128 * 1024);

        var answer = await ReadAnswerAsync(stalled.GetStream()).WaitAsync(TimeSpan.FromSeconds(15));

        Assert.That(answer, Does.StartWith("HTTP/1.1 400"));
        Assert.That(answer, Does.Contain("The request body did not arrive in time"));
    }

    [Test]
    public async Task Receive_LargeBodiesBeyondTheApisPlacesForThem_AreRefused503AndSmallOnesStillGetThrough()
    {
        var api = Env.StartApi(new Dictionary<string, string?> { ["Webhooks:BodyTimeout"] = "00:00:30" }, kestrel: true);
        var (_, _, providerId) = await AcceptedWithoutWebhooksAsync();
        const int beyond = 4;
        var connections = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < GovSg.Api.Webhooks.LargeWebhookBodies.Places + beyond; i++)
            {
                connections.Add(await StartWebhookAsync(api.Address, contentLength: 1_000_000, sent: 128 * 1024));
            }

            // Each holds on to its place until its body's deadline (30 s). Which eight the Api reaches first is not the
            // order they were sent in, so the test waits for any four to be answered, then gives a fifth time to show.
            var answers = connections.Select(connection => ReadAnswerAsync(connection.GetStream())).ToList();
            await Poll.UntilAsync(() => Task.FromResult(answers.Count(answer => answer.IsCompleted)), n => n >= beyond,
                TimeSpan.FromSeconds(15));
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            var refused = answers.Where(answer => answer.IsCompletedSuccessfully).Select(answer => answer.Result).ToList();
            using var client = api.CreateClient();
            using var small = await Webhooks.PostSignedAsync(client, [new WebhookStatus(providerId, "delivered", DateTime.UtcNow)]);

            Assert.That(refused, Has.Count.EqualTo(beyond), "eight bodies hold places, the rest are refused at once");
            Assert.That(refused, Has.All.StartWith("HTTP/1.1 503").And.All.Contain("service_unavailable"));
            Assert.That(small.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a body of a few KiB needs no place");
        }
        finally
        {
            connections.ForEach(connection => connection.Dispose());
        }
    }

    /// <summary>A connection that has sent a webhook's head with a forged signature of the right shape and part of its body.</summary>
    private static async Task<System.Net.Sockets.TcpClient> StartWebhookAsync(Uri api, int contentLength, int sent)
    {
        var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(api.Host, api.Port);
        var head = $"POST /{Webhooks.Path} HTTP/1.1\r\nHost: {api.Authority}\r\nContent-Type: application/json\r\n" +
                   $"X-Hub-Signature-256: sha256={new string('0', 64)}\r\nContent-Length: {contentLength}\r\n\r\n";
        await tcp.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(head + "{" + new string(' ', sent - 1)));
        return tcp;
    }

    /// <summary>The answer's head and its error envelope, as far as the envelope's end.</summary>
    private static async Task<string> ReadAnswerAsync(System.Net.Sockets.NetworkStream stream)
    {
        var answer = new byte[4096];
        var read = 0;
        while (!EndsEnvelope(System.Text.Encoding.ASCII.GetString(answer, 0, read))
               && await stream.ReadAsync(answer.AsMemory(read)) is > 0 and var n)
        {
            read += n;
        }

        return System.Text.Encoding.ASCII.GetString(answer, 0, read);

        static bool EndsEnvelope(string text) =>
            text.IndexOf("\"message\":\"", StringComparison.Ordinal) is >= 0 and var message
            && text.IndexOf("\"}", message + 11, StringComparison.Ordinal) >= 0;
    }

    [Test]
    public async Task Receive_WhenSignedWithTheWrongSecret_Answers401()
    {
        var (_, _, providerId) = await AcceptedWithoutWebhooksAsync();
        var body = Webhooks.Body([new WebhookStatus(providerId, "delivered", DateTime.UtcNow)]);

        using var response = await Webhooks.PostAsync(Env.Client(null), body, Webhooks.Sign(body, "another-secret"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Receive_WhenSignedButUnparsable_Answers200SoMetaDoesNotRedeliverForDays()
    {
        const string body = "{\"object\":\"whatsapp_business_account\",\"entry\":";

        using var response = await Webhooks.PostAsync(Env.Client(null), body, Webhooks.Sign(body));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Receive_WhileTheBrokerIsUnreachable_Answers503SoMetaDeliversItAgain()
    {
        var (user, id, providerId) = await AcceptedWithoutWebhooksAsync();
        var body = Webhooks.Body([new WebhookStatus(providerId, "delivered", DateTime.UtcNow)]);
        var api = Env.StartApi(new Dictionary<string, string?> { ["RabbitMq:Port"] = "1" });

        using var refused = await Webhooks.PostAsync(api.CreateClient(), body, Webhooks.Sign(body));
        using var redelivered = await Webhooks.PostAsync(Env.Client(null), body, Webhooks.Sign(body));

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(refused.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(redelivered.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "DELIVERED");
        Assert.That(message.Str("status"), Is.EqualTo("DELIVERED"), "the redelivery applied what the 503 refused");
    }

    [Test]
    public async Task Receive_WhenTheStatusIsForAnotherPhoneNumber_IgnoresIt()
    {
        var (user, id, providerId) = await AcceptedWithoutWebhooksAsync();
        var foreign = Webhooks.Body([new WebhookStatus(providerId, "read", DateTime.UtcNow),
            new WebhookStatus(providerId, "delivered", DateTime.UtcNow)], phoneNumberId: "999");
        var ours = Webhooks.Body([new WebhookStatus(providerId, "sent", DateTime.UtcNow)]);
        using var counted = new Counted(ApiMetrics.MeterName, "govsg.webhook.other_number");

        using var first = await Webhooks.PostAsync(Env.Client(null), foreign, Webhooks.Sign(foreign));
        using var second = await Webhooks.PostAsync(Env.Client(null), ours, Webhooks.Sign(ours));

        Assert.That((first.StatusCode, second.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)));
        Assert.That(counted.Total, Is.EqualTo(2), "the ignored statuses are counted, so a wrong setting shows");
        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "SENT", "READ");
        Assert.That(message.Str("status"), Is.EqualTo("SENT"), "the foreign read was ignored; the later sent of ours applied");
    }

    [Test]
    public async Task Receive_WhenTheStatusOvertakesTheAcceptedWrite_AppliesItOnceTheProviderIdIsKnown()
    {
        var user = await Env.CreateUserAsync();
        var providerId = $"wamid.early-{Guid.NewGuid():N}";

        // After the acceptance written below (an hour ago): a lifecycle time is never before an earlier one (SPEC §4),
        // nor after the time it is applied.
        var deliveredAt = DateTime.UnixEpoch.AddSeconds(DateTimeOffset.UtcNow.AddMinutes(-30).ToUnixTimeSeconds());
        using var response = await Webhooks.PostSignedAsync(Env.Client(null),
            [new WebhookStatus(providerId, "delivered", deliveredAt)]);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await Poll.UntilAsync(() => ParkedAsync(providerId), n => n > 0);
        var id = await InsertAcceptedAsync(user, providerId);

        var message = await MessageJson.WaitForStatusAsync(user.Client, id, "DELIVERED");

        Assert.That(message.Str("status"), Is.EqualTo("DELIVERED"));
        Assert.That(message.Str("delivered_at"),
            Is.EqualTo(deliveredAt.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(await ParkedAsync(providerId), Is.Zero);
    }

    [Test]
    public async Task Receive_WhenTheProviderIdNeverAppears_DropsTheStatusAfterTheRetentionPeriod()
    {
        var providerId = $"wamid.never-{Guid.NewGuid():N}";

        using var response = await Webhooks.PostSignedAsync(Env.Client(null), [new WebhookStatus(providerId, "read", DateTime.UtcNow)]);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await Poll.UntilAsync(() => ParkedAsync(providerId), n => n > 0), Is.EqualTo(1));
        Assert.That(await Poll.UntilAsync(() => ParkedAsync(providerId), n => n == 0, TimeSpan.FromSeconds(20)), Is.Zero,
            "Statuses:UnknownMessageRetention is 3 s in tests");
    }

    [Test]
    public async Task Verify_WithTheRightToken_EchoesTheChallenge()
    {
        using var response = await Env.Client(null).GetAsync(
            $"{Webhooks.Path}?hub.mode=subscribe&hub.verify_token={TestSettings.VerifyToken}&hub.challenge=1158201444");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("1158201444"));
    }

    [TestCase("subscribe", "wrong-token")]
    [TestCase("unsubscribe", TestSettings.VerifyToken)]
    public async Task Verify_WithAWrongTokenOrMode_Answers403(string mode, string token)
    {
        using var response = await Env.Client(null).GetAsync(
            $"{Webhooks.Path}?hub.mode={mode}&hub.verify_token={token}&hub.challenge=1158201444");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("1158201444"));
    }

    private static async Task<string> SendAsync(TestUser user, string recipient)
    {
        var (response, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(recipient));
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
        return body.Str("id");
    }

    /// <summary>An ACCEPTED message whose simulated recipient sends no webhooks, so the test controls every status.</summary>
    internal static async Task<(TestUser User, string Id, string ProviderId)> AcceptedWithoutWebhooksAsync(TestUser? sender = null)
    {
        var user = sender ?? await Env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { webhooks = "none" });
        var id = await SendAsync(user, local);
        await MessageJson.WaitForStatusAsync(user.Client, id, "ACCEPTED");
        await using var connection = await Env.Database.OpenConnectionAsync();
        var providerId = await connection.ExecuteScalarAsync<string>("SELECT provider_message_id FROM messages WHERE id = @id",
            new { id = long.Parse(id, CultureInfo.InvariantCulture) });
        return (user, id, providerId!);
    }

    private static async Task<string> InsertAcceptedAsync(TestUser user, string providerId)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        var id = await connection.ExecuteScalarAsync<long>("""
            INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order,
                                  status, created_at, updated_at, accepted_at, provider_message_id, expires_at, available_at,
                                  sweep_at, attempts)
            VALUES (@userId, 3, '+6591234567', '{}', 'en_GB', 'govsg_service_notice_v1', '{}', 'ACCEPTED',
                    now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour',
                    @providerId, now() + interval '1 day', now(), now() + interval '1 day', 1)
            RETURNING id
            """, new { userId = user.Id, providerId });
        return id.ToString(CultureInfo.InvariantCulture);
    }

    private static async Task<int> ParkedAsync(string providerId)
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM pending_status_events WHERE provider_message_id = @providerId", new { providerId });
    }
}
