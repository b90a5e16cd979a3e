using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GovSg.Tests.Integration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using SimulatorProgram = GovSg.WhatsAppSimulator.Program;

namespace GovSg.Tests.Simulator;

/// <summary>
/// The WhatsApp simulator must answer and call back exactly as Meta does, or every end-to-end test built on it proves
/// nothing. Each test gets its own simulator; one webhook receiver serves them all, told apart by wamid.
/// </summary>
[TestFixture]
public sealed class WhatsAppSimulatorTests
{
    private const string AccessToken = "test-access-token";
    private const string AppSecret = "test-app-secret";
    private const string PhoneNumberId = "106540352242922";
    private const string DisplayPhoneNumber = "6581290065";
    private const string BusinessAccountId = "102290129340398";

    // From deploy/local/templates.json: four params (venue, date, time, reference) in en_GB and zh_CN; and none.
    private const string AppointmentTemplate = "govsg_appointment_confirmation_v1";
    private const string NoticeTemplate = "govsg_service_notice_v1";

    private static readonly string[] AppointmentParameters = ["Bedok Polyclinic", "3 March 2026", "10:30 AM", "BK-1042"];
    private static readonly string[] SentDeliveredRead = ["sent", "delivered", "read"];
    private static readonly string[] SentFailed = ["sent", "failed"];
    private static readonly string[] SentRead = ["sent", "read"];
    private static readonly string[] SentOnly = ["sent"];
    private static readonly string[] ReadDeliveredSent = ["read", "delivered", "sent"];
    private static readonly TimeSpan WebhookDeadline = TimeSpan.FromSeconds(10);

    private WebhookReceiver _receiver = null!;
    private WebApplicationFactory<SimulatorProgram>? _simulator;

    [OneTimeSetUp]
    public async Task StartReceiverAsync() => _receiver = await WebhookReceiver.StartAsync();

    [OneTimeTearDown]
    public async Task StopReceiverAsync() => await _receiver.DisposeAsync();

    [TearDown]
    public async Task StopSimulatorAsync()
    {
        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
            _simulator = null;
        }
    }

    [Test]
    public async Task SendMessage_WhenRequestIsValid_ReturnsMetasAcceptedBodyAndRecordsTheSend()
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "+6591230001");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var body = await ReadJsonAsync(response);
        var root = body.RootElement;
        var wamid = root.GetProperty("messages")[0].GetProperty("id").GetString();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.GetProperty("messaging_product").GetString(), Is.EqualTo("whatsapp"));
            Assert.That(root.GetProperty("contacts")[0].GetProperty("input").GetString(), Is.EqualTo("+6591230001"));
            Assert.That(root.GetProperty("contacts")[0].GetProperty("wa_id").GetString(), Is.EqualTo("6591230001"));
            Assert.That(root.GetProperty("messages")[0].GetProperty("message_status").GetString(), Is.EqualTo("accepted"));
            Assert.That(wamid, Does.StartWith("wamid."));
            Assert.That(Convert.FromBase64String(wamid!["wamid.".Length..]), Has.Length.EqualTo(24));
        }

        using var sends = await ReadJsonAsync(await client.GetAsync("/_sim/sends?to=6591230001"));
        var recorded = sends.RootElement.GetProperty("data");
        Assert.That(recorded.GetArrayLength(), Is.EqualTo(1));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(recorded[0].GetProperty("wamid").GetString(), Is.EqualTo(wamid));
            Assert.That(recorded[0].GetProperty("to").GetString(), Is.EqualTo("6591230001"));
            Assert.That(recorded[0].GetProperty("template").GetString(), Is.EqualTo(AppointmentTemplate));
            Assert.That(recorded[0].GetProperty("language").GetString(), Is.EqualTo("en_GB"));
            Assert.That(
                recorded[0].GetProperty("parameters").EnumerateArray().Select(parameter => parameter.GetString()),
                Is.EqualTo(AppointmentParameters));
        }
    }

    [Test]
    public async Task SendMessage_WhenTemplateTakesNoParamsAndNoComponentsAreSent_ReturnsOk()
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "6591230002", NoticeTemplate, parameters: null);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("Bearer wrong-token")]
    [TestCase(null)]
    public async Task SendMessage_WhenAccessTokenIsWrongOrMissing_Returns401WithCode190(string? authorization)
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "6591230003", authorization: authorization);

        var error = await ReadGraphErrorAsync(response, HttpStatusCode.Unauthorized, 190);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.GetProperty("type").GetString(), Is.EqualTo("OAuthException"));
            Assert.That(
                error.GetProperty("message").GetString(),
                Is.EqualTo("Invalid OAuth access token - Cannot parse access token"));
        }
    }

    [Test]
    public async Task SendMessage_WhenPhoneNumberIdIsUnknown_Returns400WithCode100()
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "6591230004", phoneNumberId: "999");

        var error = await ReadGraphErrorAsync(response, HttpStatusCode.BadRequest, 100);
        Assert.That(error.GetProperty("message").GetString(), Does.Contain("Object with ID '999' does not exist"));
    }

    [Test]
    public async Task SendMessage_WhenTemplateNameIsUnknown_Returns404WithCode132001()
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "6591230005", "govsg_no_such_template");

        var error = await ReadGraphErrorAsync(response, HttpStatusCode.NotFound, 132001);
        Assert.That(
            Details(error),
            Is.EqualTo("template name (govsg_no_such_template) does not exist in en_GB"));
    }

    [Test]
    public async Task SendMessage_WhenTemplateLacksTheLanguage_Returns404WithCode132001()
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "6591230006", language: "ta");

        var error = await ReadGraphErrorAsync(response, HttpStatusCode.NotFound, 132001);
        Assert.That(
            Details(error),
            Is.EqualTo($"template name ({AppointmentTemplate}) does not exist in ta"));
    }

    [Test]
    public async Task SendMessage_WhenParameterCountDiffersFromTemplate_Returns400WithCode132000()
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "6591230007", parameters: ["Bedok Polyclinic", "3 March 2026"]);

        var error = await ReadGraphErrorAsync(response, HttpStatusCode.BadRequest, 132000);
        Assert.That(Details(error), Does.Contain("(2)").And.Contain("(4)"));
    }

    [TestCase("Bedok\nPolyclinic")]
    [TestCase("Bedok\tPolyclinic")]
    [TestCase("Bedok     Polyclinic")]
    public async Task SendMessage_WhenParameterHasNewlineTabOrFiveSpaces_Returns400WithCode132018(string venue)
    {
        var client = CreateSimulator();

        string[] parameters = [venue, "3 March 2026", "10:30 AM", "BK-1042"];

        using var response = await SendAsync(client, "6591230008", parameters: parameters);

        await ReadGraphErrorAsync(response, HttpStatusCode.BadRequest, 132018);
    }

    [Test]
    public async Task SendMessage_WhenThroughputLimitIsExceeded_Returns400WithCode130429()
    {
        var client = CreateSimulator(("Simulator:MessagesPerSecond", "2"));
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;

        for (var i = 0; i < 10 && limited is null; i++)
        {
            var response = await SendAsync(client, "6591230009");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                response.Dispose();
            }
            else
            {
                limited = response;
            }
        }

        Assert.That(limited, Is.Not.Null, $"no send was limited: {string.Join(", ", statuses)}");
        using (limited)
        {
            var error = await ReadGraphErrorAsync(limited!, HttpStatusCode.BadRequest, 130429);
            Assert.That(
                Details(error),
                Is.EqualTo("Cloud API message throughput has been reached."));
        }

        Assert.That(statuses.Count(status => status == HttpStatusCode.OK), Is.InRange(2, 3));
    }

    [Test]
    public async Task SendMessage_WhenRecipientRuleHasSendError_ReturnsThatError()
    {
        var client = CreateSimulator();
        await PutRuleAsync(
            client,
            "6591230010",
            """{"send_error":{"http_status":400,"code":131026,"details":"Recipient is not on WhatsApp"}}""");

        using var first = await SendAsync(client, "+6591230010");
        using var second = await SendAsync(client, "6591230010");

        var error = await ReadGraphErrorAsync(first, HttpStatusCode.BadRequest, 131026);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.GetProperty("message").GetString(), Is.EqualTo("(#131026) Message undeliverable"));
            Assert.That(Details(error), Is.EqualTo("Recipient is not on WhatsApp"));
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        }
    }

    [Test]
    public async Task SendMessage_WhenRuleHasFailTimes_FailsThatManyTimesThenSucceeds()
    {
        var client = CreateSimulator();
        await PutRuleAsync(client, "6591230011", """{"send_error":{"http_status":500,"code":131000},"fail_times":2}""");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await SendAsync(client, "6591230011");
            statuses.Add(response.StatusCode);
        }

        HttpStatusCode[] expected =
        [
            HttpStatusCode.InternalServerError, HttpStatusCode.InternalServerError, HttpStatusCode.OK, HttpStatusCode.OK,
        ];
        Assert.That(statuses, Is.EqualTo(expected));
    }

    [Test]
    public async Task SendMessage_WhenRuleHasRawStatus_ReturnsThatStatusWithoutJson()
    {
        var client = CreateSimulator();
        await PutRuleAsync(client, "6591230012", """{"send_error":{"raw_status":429}}""");

        using var response = await SendAsync(client, "6591230012");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(await response.Content.ReadAsStringAsync(), Does.StartWith("<html>"));
        }
    }

    [Test]
    public async Task Webhooks_WhenMessageIsAccepted_PostsSignedSentDeliveredReadInOrder()
    {
        var client = CreateSimulator();
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var wamid = await SendAndGetWamidAsync(client, "6591230013");

        var received = await _receiver.WaitForStatusesAsync(wamid, 3, WebhookDeadline);
        var after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.That(received.Select(status => status.Status), Is.EqualTo(SentDeliveredRead));
        using (Assert.EnterMultipleScope())
        {
            foreach (var status in received)
            {
                Assert.That(status.Post.Signature, Is.EqualTo(ExpectedSignature(status.Post.Body)));
                Assert.That(status.Post.ContentType, Is.EqualTo("application/json"));
                Assert.That(status.Post.EntryId, Is.EqualTo(BusinessAccountId));
                Assert.That(status.Post.PhoneNumberId, Is.EqualTo(PhoneNumberId));
                Assert.That(status.Post.DisplayPhoneNumber, Is.EqualTo(DisplayPhoneNumber));
                Assert.That(status.RecipientId, Is.EqualTo("6591230013"));
                Assert.That(status.Timestamp, Is.InRange(before, after));
            }

            Assert.That(received.Select(status => status.Timestamp), Is.Ordered);
            Assert.That(received[0].Json.GetProperty("pricing").GetProperty("category").GetString(), Is.EqualTo("utility"));
            Assert.That(received[1].Json.TryGetProperty("conversation", out _), Is.True);
        }
    }

    [Test]
    public async Task Webhooks_WhenModeIsFailed_PostsSentThenFailedWithTheRulesErrorCode()
    {
        var client = CreateSimulator();
        await PutRuleAsync(client, "6591230014", """{"webhooks":"failed"}""");

        var wamid = await SendAndGetWamidAsync(client, "6591230014");

        var received = await _receiver.WaitForStatusesAsync(wamid, 2, WebhookDeadline);
        Assert.That(received.Select(status => status.Status), Is.EqualTo(SentFailed));
        var error = received[1].Json.GetProperty("errors")[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.GetProperty("code").GetInt32(), Is.EqualTo(131026));
            Assert.That(error.GetProperty("title").GetString(), Is.EqualTo("Message undeliverable"));
            Assert.That(Details(error), Is.EqualTo("Message Undeliverable."));
        }

        await AssertNoMoreStatusesAsync(wamid, 2);
    }

    [Test]
    public async Task Webhooks_WhenModeIsReadWithoutDelivered_PostsSentThenRead()
    {
        var client = CreateSimulator();
        await PutRuleAsync(client, "6591230015", """{"webhooks":"read_without_delivered"}""");

        var wamid = await SendAndGetWamidAsync(client, "6591230015");

        var received = await _receiver.WaitForStatusesAsync(wamid, 2, WebhookDeadline);
        Assert.That(received.Select(status => status.Status), Is.EqualTo(SentRead));
        await AssertNoMoreStatusesAsync(wamid, 2);
    }

    [Test]
    public async Task Webhooks_WhenModeIsDuplicate_PostsEveryStatusTwiceInSeparatePosts()
    {
        var client = CreateSimulator();
        await PutRuleAsync(client, "6591230019", """{"webhooks":"duplicate"}""");

        var wamid = await SendAndGetWamidAsync(client, "6591230019");

        var received = await _receiver.WaitForStatusesAsync(wamid, 6, WebhookDeadline);
        using (Assert.EnterMultipleScope())
        {
            foreach (var status in SentDeliveredRead)
            {
                var copies = received.Where(copy => copy.Status == status).ToList();
                Assert.That(copies, Has.Count.EqualTo(2), status);
                Assert.That(copies[0].Post, Is.Not.SameAs(copies[1].Post), status);
            }
        }
    }

    [Test]
    public async Task Webhooks_WhenModeIsReorder_PostsReadDeliveredSentEachWithItsOwnTimestamp()
    {
        var client = CreateSimulator(
            ("Simulator:SentDelayMs", "0"),
            ("Simulator:DeliveredDelayMs", "1000"),
            ("Simulator:ReadDelayMs", "2000"));
        await PutRuleAsync(client, "6591230020", """{"webhooks":"reorder"}""");

        var wamid = await SendAndGetWamidAsync(client, "6591230020");

        var received = await _receiver.WaitForStatusesAsync(wamid, 3, WebhookDeadline);
        Assert.That(received.Select(status => status.Status), Is.EqualTo(ReadDeliveredSent));
        Assert.That(received.Select(status => status.Timestamp), Is.Ordered.Descending);
        Assert.That(received[0].Timestamp - received[2].Timestamp, Is.InRange(1, 3));
    }

    [Test]
    public async Task Webhooks_WhenModeIsOvertake_SentIsAcknowledgedBeforeTheSendResponds()
    {
        var client = CreateSimulator(("Simulator:DeliveredDelayMs", "1000"), ("Simulator:ReadDelayMs", "1100"));
        await PutRuleAsync(client, "6591230016", """{"webhooks":"overtake"}""");

        var wamid = await SendAndGetWamidAsync(client, "6591230016");

        Assert.That(_receiver.StatusesOf(wamid).Select(status => status.Status), Is.EqualTo(SentOnly));
        var received = await _receiver.WaitForStatusesAsync(wamid, 3, WebhookDeadline);
        Assert.That(received.Select(status => status.Status), Is.EqualTo(SentDeliveredRead));
    }

    [Test]
    public async Task Webhooks_WhenReceiverFailsAtFirst_RedeliversTheSameSignedBody()
    {
        var client = CreateSimulator(
            ("Simulator:WebhookRetryInitialDelayMs", "100"),
            ("Simulator:DeliveredDelayMs", "5000"),
            ("Simulator:ReadDelayMs", "6000"));
        _receiver.FailNext(1);

        var wamid = await SendAndGetWamidAsync(client, "6591230017");

        var attempts = await _receiver.WaitForStatusesAsync(wamid, 2, WebhookDeadline, includeRejected: true);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(attempts[0].Post.Rejected, Is.True);
            Assert.That(attempts[1].Post.Rejected, Is.False);
            Assert.That(attempts[1].Status, Is.EqualTo("sent"));
            Assert.That(attempts[1].Post.Body, Is.EqualTo(attempts[0].Post.Body));
            Assert.That(attempts[1].Post.Signature, Is.EqualTo(ExpectedSignature(attempts[1].Post.Body)));
        }
    }

    [Test]
    public async Task UpdateSettings_WhenLatencyIsRaised_DelaysTheNextSend()
    {
        var client = CreateSimulator();

        using var update = await client.PutAsync(
            "/_sim/settings",
            new StringContent("""{"latency_ms":300}""", Encoding.UTF8, "application/json"));
        var started = TimeProvider.System.GetTimestamp();
        using var response = await SendAsync(client, "6591230018");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(update.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(
                TimeProvider.System.GetElapsedTime(started),
                Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)));
        }
    }

    [Test]
    public async Task Webhooks_WhenTheSendCarriesOpaqueData_EchoEveryStatusWithItAndTheSendRecordsIt()
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "6591230019", opaqueData: "m:42:3");
        using var body = await ReadJsonAsync(response);
        var wamid = body.RootElement.GetProperty("messages")[0].GetProperty("id").GetString()!;

        var received = await _receiver.WaitForStatusesAsync(wamid, 3, WebhookDeadline);
        using var sends = await ReadJsonAsync(await client.GetAsync("/_sim/sends?to=6591230019"));
        Assert.That(
            received.Select(status => status.Json.GetProperty("biz_opaque_callback_data").GetString()),
            Is.EqualTo(new[] { "m:42:3", "m:42:3", "m:42:3" }));
        Assert.That(
            sends.RootElement.GetProperty("data")[0].GetProperty("biz_opaque_callback_data").GetString(),
            Is.EqualTo("m:42:3"));
    }

    [Test]
    public async Task Webhooks_WhenEchoingOpaqueDataIsSwitchedOff_CarryNone()
    {
        var client = CreateSimulator();
        using var update = await client.PutAsync(
            "/_sim/settings",
            new StringContent("""{"echo_opaque_data":false}""", Encoding.UTF8, "application/json"));

        using var response = await SendAsync(client, "6591230020", opaqueData: "m:42:3");
        using var body = await ReadJsonAsync(response);
        var wamid = body.RootElement.GetProperty("messages")[0].GetProperty("id").GetString()!;

        var received = await _receiver.WaitForStatusesAsync(wamid, 3, WebhookDeadline);
        Assert.That(update.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(received, Has.Count.EqualTo(3));
        Assert.That(received.Select(status => status.Json.TryGetProperty("biz_opaque_callback_data", out _)), Is.All.False);
    }

    // What Meta refuses and a lenient stand-in would take: a regression in the Dispatcher's body must fail here too.
    [TestCase("a field name in another case", 100)]
    [TestCase("a recipient_type other than individual", 100)]
    [TestCase("a language policy other than deterministic", 100)]
    [TestCase("a component type in capitals", 100)]
    [TestCase("a header component the template does not have", 132000)]
    [TestCase("a parameter that is not text", 132012)]
    public async Task SendMessage_WhenTheBodyIsNotMetasShape_IsRefusedAsMetaRefusesIt(string change, int code)
    {
        var client = CreateSimulator();
        Action<JsonObject> alter = change switch
        {
            "a field name in another case" => UpperCaseTo,
            "a recipient_type other than individual" => m => m["recipient_type"] = "group",
            "a language policy other than deterministic" => m => m["template"]!["language"]!["policy"] = "fallback",
            "a component type in capitals" => m => m["template"]!["components"]![0]!["type"] = "BODY",
            "a header component the template does not have" => m => m["template"]!["components"]!.AsArray().Add(
                new JsonObject { ["type"] = "header", ["parameters"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "x" }) }),
            _ => m => m["template"]!["components"]![0]!["parameters"]![0]!["type"] = "image",
        };

        using var response = await SendAsync(client, "6591230030", alter: alter);

        await ReadGraphErrorAsync(response, HttpStatusCode.BadRequest, code);

        static void UpperCaseTo(JsonObject message)
        {
            message["TO"] = message["to"]!.DeepClone();
            message.Remove("to");
        }
    }

    [Test]
    public async Task SendMessage_WhenOpaqueDataIsLongerThan512Characters_Returns400WithCode100()
    {
        var client = CreateSimulator();

        using var response = await SendAsync(client, "6591230021", opaqueData: new string('x', 513));

        var error = await ReadGraphErrorAsync(response, HttpStatusCode.BadRequest, 100);
        Assert.That(Details(error), Does.Contain("biz_opaque_callback_data"));
    }

    [Test]
    public async Task SendMessage_WhenTheCallerGivesUpOnALateAnswer_TheSendIsStillAcceptedAndReported()
    {
        var client = CreateSimulator();
        await PutRuleAsync(client, "6591230022", """{"extra_delay_ms":5000,"delay_times":1}""");

        using (var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            using var late = SendRequest("6591230022", "m:7:1");
            Assert.That(
                async () => await client.SendAsync(late, giveUp.Token),
                Throws.InstanceOf<OperationCanceledException>());
        }

        var clock = TimeProvider.System.GetTimestamp();
        using var second = await SendAsync(client, "6591230022", opaqueData: "m:7:2");
        var secondTook = TimeProvider.System.GetElapsedTime(clock);

        using var sends = await ReadJsonAsync(await client.GetAsync("/_sim/sends?to=6591230022"));
        var recorded = sends.RootElement.GetProperty("data");
        var firstWamid = recorded[0].GetProperty("wamid").GetString()!;
        var statuses = await _receiver.WaitForStatusesAsync(firstWamid, 1, WebhookDeadline);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(recorded.GetArrayLength(), Is.EqualTo(2), "the abandoned send was accepted all the same");
            Assert.That(recorded[0].GetProperty("biz_opaque_callback_data").GetString(), Is.EqualTo("m:7:1"));
            Assert.That(statuses.Select(status => status.Status).First(), Is.EqualTo("sent"));
            Assert.That(statuses[0].Json.GetProperty("biz_opaque_callback_data").GetString(), Is.EqualTo("m:7:1"));
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(secondTook, Is.LessThan(TimeSpan.FromSeconds(3)), "delay_times 1: only the first is late");
        }
    }

    private static HttpRequestMessage SendRequest(string to, string opaqueData)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v21.0/{PhoneNumberId}/messages")
        {
            Content = JsonContent.Create(new JsonObject
            {
                ["messaging_product"] = "whatsapp",
                ["to"] = to,
                ["type"] = "template",
                ["biz_opaque_callback_data"] = opaqueData,
                ["template"] = new JsonObject { ["name"] = NoticeTemplate, ["language"] = new JsonObject { ["code"] = "en_GB" } },
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
        return request;
    }

    private HttpClient CreateSimulator(params (string Key, string Value)[] overrides)
    {
        var simulatorDirectory = Path.Combine(TestSettings.RepositoryRoot, "tests", "GovSg.WhatsAppSimulator");
        _simulator = new WebApplicationFactory<SimulatorProgram>().WithWebHostBuilder(builder =>
        {
            builder.UseContentRoot(simulatorDirectory);
            builder.UseSetting("Simulator:TemplatesFile", TestSettings.TemplatesFile);
            builder.UseSetting("Simulator:AccessToken", AccessToken);
            builder.UseSetting("Simulator:AppSecret", AppSecret);
            builder.UseSetting("Simulator:WebhookUrl", _receiver.Url);
            builder.UseSetting("Simulator:LatencyMs", "0");
            builder.UseSetting("Simulator:MessagesPerSecond", "0");
            builder.UseSetting("Simulator:SentDelayMs", "50");
            builder.UseSetting("Simulator:DeliveredDelayMs", "150");
            builder.UseSetting("Simulator:ReadDelayMs", "250");
            foreach (var (key, value) in overrides)
            {
                builder.UseSetting(key, value);
            }
        });
        return _simulator.CreateClient();
    }

    private static async Task<HttpResponseMessage> SendAsync(
        HttpClient client,
        string to,
        string template = AppointmentTemplate,
        string language = "en_GB",
        string[]? parameters = null,
        string? authorization = "Bearer " + AccessToken,
        string phoneNumberId = PhoneNumberId,
        string? opaqueData = null,
        Action<JsonObject>? alter = null)
    {
        parameters ??= template == AppointmentTemplate ? AppointmentParameters : null;
        var templateJson = new JsonObject
        {
            ["name"] = template,
            ["language"] = new JsonObject { ["code"] = language, ["policy"] = "deterministic" },
        };
        if (parameters is not null)
        {
            var body = new JsonArray([.. parameters.Select(text => new JsonObject { ["type"] = "text", ["text"] = text })]);
            templateJson["components"] = new JsonArray(new JsonObject { ["type"] = "body", ["parameters"] = body });
        }

        var message = new JsonObject
        {
            ["messaging_product"] = "whatsapp",
            ["recipient_type"] = "individual",
            ["to"] = to,
            ["type"] = "template",
            ["template"] = templateJson,
        };
        if (opaqueData is not null)
        {
            message["biz_opaque_callback_data"] = opaqueData;
        }

        alter?.Invoke(message);

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v21.0/{phoneNumberId}/messages")
        {
            Content = JsonContent.Create(message),
        };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return await client.SendAsync(request);
    }

    private static async Task<string> SendAndGetWamidAsync(HttpClient client, string to)
    {
        using var response = await SendAsync(client, to);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        using var body = await ReadJsonAsync(response);
        return body.RootElement.GetProperty("messages")[0].GetProperty("id").GetString()!;
    }

    private static async Task PutRuleAsync(HttpClient client, string recipient, string rule)
    {
        using var response = await client.PutAsync(
            $"/_sim/recipients/{recipient}",
            new StringContent(rule, Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response) =>
        await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());

    /// <summary>Asserts Meta's error envelope and returns its <c>error</c> object.</summary>
    private static async Task<JsonElement> ReadGraphErrorAsync(HttpResponseMessage response, HttpStatusCode status, int code)
    {
        Assert.That(response.StatusCode, Is.EqualTo(status));
        using var body = await ReadJsonAsync(response);
        var error = body.RootElement.GetProperty("error").Clone();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.GetProperty("code").GetInt32(), Is.EqualTo(code));
            Assert.That(error.GetProperty("fbtrace_id").GetString(), Is.Not.Empty);
            Assert.That(error.GetProperty("message").GetString(), Is.Not.Empty);
        }

        return error;
    }

    /// <summary>Waits a little past the last expected status, so that an extra one would have arrived.</summary>
    private async Task AssertNoMoreStatusesAsync(string wamid, int expected)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        Assert.That(_receiver.StatusesOf(wamid), Has.Count.EqualTo(expected));
    }

    private static string? Details(JsonElement error) => error.GetProperty("error_data").GetProperty("details").GetString();

    private static string ExpectedSignature(byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(AppSecret), body));

    private sealed record ReceivedPost(
        byte[] Body,
        string? Signature,
        string? ContentType,
        string? EntryId,
        string? PhoneNumberId,
        string? DisplayPhoneNumber,
        bool Rejected);

    private sealed record ReceivedStatus(
        ReceivedPost Post,
        string Wamid,
        string Status,
        long Timestamp,
        string RecipientId,
        JsonElement Json);

    /// <summary>Stands in for our Api's webhook endpoint: records every POST, and can refuse the next few.</summary>
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<ReceivedStatus> _statuses = new();
        private int _failuresLeft;

        private WebhookReceiver(WebApplication app) => _app = app;

        public string Url => _app.Urls.Single() + "/webhook";

        public static async Task<WebhookReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var receiver = new WebhookReceiver(builder.Build());
            receiver._app.MapPost("/webhook", receiver.ReceiveAsync);
            await receiver._app.StartAsync();
            return receiver;
        }

        public void FailNext(int posts) => Interlocked.Exchange(ref _failuresLeft, posts);

        public List<ReceivedStatus> StatusesOf(string wamid, bool includeRejected = false) =>
            [.. _statuses.Where(status => status.Wamid == wamid && (includeRejected || !status.Post.Rejected))];

        public async Task<List<ReceivedStatus>> WaitForStatusesAsync(
            string wamid,
            int count,
            TimeSpan timeout,
            bool includeRejected = false)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var received = StatusesOf(wamid, includeRejected);
                if (received.Count >= count || DateTime.UtcNow > deadline)
                {
                    Assert.That(received, Has.Count.GreaterThanOrEqualTo(count), $"statuses for {wamid} within {timeout}");
                    return received;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20));
            }
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();

        private async Task<IResult> ReceiveAsync(HttpRequest request)
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var rejected = Interlocked.Decrement(ref _failuresLeft) >= 0;
            Record(buffer.ToArray(), request.Headers["X-Hub-Signature-256"].ToString(), request.ContentType, rejected);
            return rejected ? Results.StatusCode(StatusCodes.Status500InternalServerError) : Results.Ok();
        }

        private void Record(byte[] body, string? signature, string? contentType, bool rejected)
        {
            using var document = JsonDocument.Parse(body);
            foreach (var entry in document.RootElement.GetProperty("entry").EnumerateArray())
            {
                foreach (var change in entry.GetProperty("changes").EnumerateArray())
                {
                    var value = change.GetProperty("value");
                    var metadata = value.GetProperty("metadata");
                    var post = new ReceivedPost(
                        body,
                        signature,
                        contentType,
                        entry.GetProperty("id").GetString(),
                        metadata.GetProperty("phone_number_id").GetString(),
                        metadata.GetProperty("display_phone_number").GetString(),
                        rejected);
                    foreach (var status in value.GetProperty("statuses").EnumerateArray())
                    {
                        _statuses.Enqueue(new ReceivedStatus(
                            post,
                            status.GetProperty("id").GetString()!,
                            status.GetProperty("status").GetString()!,
                            long.Parse(status.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture),
                            status.GetProperty("recipient_id").GetString()!,
                            status.Clone()));
                    }
                }
            }
        }
    }
}
