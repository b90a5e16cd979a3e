using System.Security.Cryptography;
using System.Text;
using GovSg.Api.Webhooks;

namespace GovSg.Tests.Unit;

public sealed class WebhookPayloadTests
{
    private const string Ours = "106540352242922";

    [Test]
    public void Parse_TakesEveryStatusOfEveryChangeOfEveryEntry_ForOurNumberOnly()
    {
        var body = $$$"""
            {"object":"whatsapp_business_account","entry":[
              {"id":"1","changes":[
                {"field":"messages","value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
                  {"id":"wamid.A","status":"sent","timestamp":"1700000001","recipient_id":"6591234567"},
                  {"id":"wamid.B","status":"failed","timestamp":"1700000002","recipient_id":"6581234567",
                   "errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable",
                              "error_data":{"details":"Message Undeliverable."}}]}]}},
                {"field":"messages","value":{"metadata":{"phone_number_id":"999"},"statuses":[
                  {"id":"wamid.X","status":"read","timestamp":"1700000003"}]}}]},
              {"id":"2","changes":[
                {"field":"messages","value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
                  {"id":"wamid.C","status":"read","timestamp":"1700000004"},
                  {"id":"wamid.D","status":"deleted","timestamp":"1700000005"}],
                  "messages":[{"from":"6591234567","type":"text"}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Select(s => (s.ProviderMessageId, s.Status)),
            Is.EqualTo(new[] { ("wamid.A", "sent"), ("wamid.B", "failed"), ("wamid.C", "read") }));
        Assert.That(parsed.Statuses[0].Timestamp, Is.EqualTo(DateTime.UnixEpoch.AddSeconds(1700000001)));
        Assert.That(parsed.Statuses[1].ErrorCode, Is.EqualTo("131026"));
        Assert.That(parsed.Statuses[1].ErrorDescription, Is.EqualTo("Message undeliverable: Message Undeliverable."));
        Assert.That(parsed.Skipped, Is.Zero, "a deleted status is a kind we do not track, not a malformed one");
    }

    [TestCase("\"m:42:3\"", "m:42:3")]
    [TestCase("null", null)]
    [TestCase("7", null)]
    [TestCase("\"m:\\u0000\"", null)]
    public void Parse_CarriesTheEchoedOpaqueCallbackData_WhenItIsAString(string json, string? expected)
    {
        var body = $$$"""
            {"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
              {"id":"wamid.A","status":"sent","timestamp":"1700000001","biz_opaque_callback_data":{{{json}}}}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Single().OpaqueCallbackData, Is.EqualTo(expected));
    }

    [Test]
    public void Parse_WhenTheOpaqueCallbackDataIsLongerThanMetaAllows_DropsItButKeepsTheStatus()
    {
        var body = $$$"""
            {"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
              {"id":"wamid.A","status":"sent","timestamp":"1700000001","biz_opaque_callback_data":"{{{new string('x', 513)}}}"}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Single().OpaqueCallbackData, Is.Null);
    }

    [TestCase("""{"id":"wamid.A","status":"sent"}""")]
    [TestCase("""{"id":"","status":"sent","timestamp":"1700000001"}""")]
    [TestCase("""{"id":"wamid.A","status":"sent","timestamp":"yesterday"}""")]
    [TestCase("""{"id":"wamid.A","status":"sent","timestamp":"253402300800"}""")]
    [TestCase("""{"id":"wamid.\u0000","status":"sent","timestamp":"1700000001"}""")]
    [TestCase("""{"id":"wamid.A","status":"sent","timestamp":"99999999999999999999"}""")]
    public void Parse_WhenAStatusIsMalformed_SkipsAndCountsIt(string status)
    {
        var body = $$$"""{"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[{{{status}}}]}}]}]}""";

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses, Is.Empty);
        Assert.That(parsed.Skipped, Is.EqualTo(1));
    }

    [Test]
    public void Parse_WhenAStatusIdIsLongerThanAnyWamid_SkipsAndCountsIt()
    {
        var body = $$$"""
            {"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
              {"id":"{{{new string('a', 512)}}}","status":"sent","timestamp":"1700000001"},
              {"id":"{{{new string('b', 513)}}}","status":"sent","timestamp":"1700000001"}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Select(s => s.ProviderMessageId), Is.EqualTo(new[] { new string('a', 512) }));
        Assert.That(parsed.Skipped, Is.EqualTo(1));
    }

    [TestCase("not json")]
    [TestCase("[]")]
    [TestCase("""{"object":"whatsapp_business_account"}""")]
    public void Parse_WhenTheBodyIsNotMetasShape_ReturnsNull(string body) =>
        Assert.That(WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours), Is.Null);

    // SPEC §6: "Process every status in every entry". A string that is not readable text (valid JSON, but an escaped lone
    // surrogate) costs only its own field or status, not the delivery: Meta is answered 200 and never sends it again.
    [Test]
    public void Parse_WhenAStringIsNotReadableText_SkipsOnlyWhatItHolds()
    {
        var body = $$$"""
            {"entry":[
              {"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
                {"id":"wamid.A","status":"delivered","timestamp":"1700000001"},
                {"id":"wamid.\udc00","status":"sent","timestamp":"1700000001"},
                {"id":"wamid.B","status":"failed","timestamp":"1700000002",
                 "errors":[{"code":131026,"title":"bad \ud800 title","message":"Message undeliverable"}]}]}}]},
              {"changes":[{"value":{"metadata":{"phone_number_id":"\ud800"},"statuses":[
                {"id":"wamid.X","status":"read","timestamp":"1700000003"}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Select(s => (s.ProviderMessageId, s.Status)),
            Is.EqualTo(new[] { ("wamid.A", "delivered"), ("wamid.B", "failed") }));
        Assert.That(parsed.Statuses[1].ErrorCode, Is.EqualTo("131026"));
        Assert.That(parsed.Statuses[1].ErrorDescription, Is.EqualTo("Message undeliverable"));
        Assert.That(parsed.Skipped, Is.EqualTo(1), "the status whose id cannot be read");
    }

    [Test]
    public void Parse_AnErrorWhoseWordsHoldANul_KeepsTheWordsWithoutIt()
    {
        var body = $$$"""
            {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
              "metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[{"id":"wamid.A","status":"failed",
              "timestamp":"1700000001","errors":[{"code":131026,"title":"Message\u0000 undeliverable"}]}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Single().ErrorDescription, Is.EqualTo("Message undeliverable"));
    }

    // A code that is no number and no text is no code: the failure says "unknown", not "" or "null".
    [TestCase("null")]
    [TestCase("\"\"")]
    [TestCase("{\"a\":1}")]
    public void Parse_WhenAFailuresCodeIsNeitherNumberNorText_SaysUnknown(string code)
    {
        var body = $$$"""
            {"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
              {"id":"wamid.A","status":"failed","timestamp":"1700000001","errors":[{"code":{{{code}}},"title":"x"}]}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Single().ErrorCode, Is.EqualTo("unknown"));
    }

    [Test]
    public void Parse_WhenAStringsBytesAreNotUtf8_SkipsTheStatusTheyAreIn()
    {
        var body = Encoding.UTF8.GetBytes($$$"""{"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[{"id":"wamid.#","status":"sent","timestamp":"1700000001"},{"id":"wamid.A","status":"read","timestamp":"1700000002"}]}}]}]}""");
        body[Array.IndexOf(body, (byte)'#')] = 0xFF;

        var parsed = WebhookPayload.Parse(body, Ours);

        Assert.That(parsed!.Statuses.Select(s => s.ProviderMessageId), Is.EqualTo(new[] { "wamid.A" }));
        Assert.That(parsed.Skipped, Is.EqualTo(1));
    }

    [Test]
    public void Matches_AcceptsEitherOfTwoSecretsDuringRotation()
    {
        var body = Encoding.UTF8.GetBytes("""{"entry":[]}""");

        Assert.That(IsValid(Sign(body, "new"), body, ["old", "new"]), Is.True);
        Assert.That(IsValid(Sign(body, "old"), body, ["old", "new"]), Is.True);
        Assert.That(IsValid(Sign(body, "other"), body, ["old", "new"]), Is.False);
    }

    [Test]
    public void Matches_RefusesASignatureOfAnotherBody()
    {
        var body = Encoding.UTF8.GetBytes("""{"entry":[]}""");

        Assert.That(IsValid(Sign(Encoding.UTF8.GetBytes("""{"entry":[1]}"""), "s"), body, ["s"]), Is.False);
    }

    [Test]
    public void Parse_WhenTheHeaderIsMissingOrNotSha256AndSixtyFourHexDigits_ClaimsNothing()
    {
        var digest = new string('a', 64);

        Assert.That(WebhookSignature.Parse(null), Is.Null);
        Assert.That(WebhookSignature.Parse("sha512=" + digest), Is.Null, "another algorithm, though as long");
        Assert.That(WebhookSignature.Parse("sha256=" + digest + "aa"), Is.Null);
        Assert.That(WebhookSignature.Parse("sha256=" + new string('z', 64)), Is.Null, "not hex");
        Assert.That(WebhookSignature.Parse("SHA256=" + digest), Is.EqualTo(Convert.FromHexString(digest)));
    }

    [Test]
    public void Matches_WhenTheSameSecretIsConfiguredTwice_StillAccepts()
    {
        // During a rotation both settings may briefly hold the same secret; a match under each must not cancel out.
        var body = Encoding.UTF8.GetBytes("""{"entry":[]}""");

        Assert.That(IsValid(Sign(body, "s"), body, ["s", "s"]), Is.True);
    }

    [Test]
    public void Parse_WhenAFailureComesWithAnEmptyErrorList_SaysItFailedWithoutAReason()
    {
        var body = $$$"""
            {"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
              {"id":"wamid.A","status":"failed","timestamp":"1700000001","errors":[]},
              {"id":"wamid.B","status":"failed","timestamp":"1700000001"}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Select(s => (s.ErrorCode, s.ErrorDescription)), Is.All.EqualTo(
            ("unknown", "The provider reported the message failed and gave no reason")));
    }

    [Test]
    public void Parse_CollectsTheCodesOfErrorsNotTiedToAMessage()
    {
        var body = $$$"""
            {"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},
              "errors":[{"code":131000,"title":"Something went wrong"},{"code":"x"},"odd"]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.ErrorCodes, Is.EqualTo(new[] { "131000", "unknown", "unknown" }));
        Assert.That(parsed.Statuses, Is.Empty);
    }

    [Test]
    public void Parse_CountsTheStatusesOfOtherNumbers_AndSkipsShapesItCannotRead()
    {
        var body = $$$"""
            {"entry":[{"changes":[
              {"value":{"metadata":{"phone_number_id":"999"},"statuses":[
                {"id":"wamid.X","status":"read","timestamp":"1700000003"},{"id":"wamid.Y","status":"sent","timestamp":"1700000003"}]}},
              {"value":{"metadata":"{{{Ours}}}","statuses":[{"id":"wamid.Z","status":"read","timestamp":"1700000003"}]}},
              {"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":{"id":"wamid.W"} } }]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.OtherNumbers, Is.EqualTo(3), "metadata that is no object names no number of ours");
        Assert.That(parsed.Statuses, Is.Empty);
    }

    [Test]
    public void Parse_WhenErrorsAreNotAList_ReadsTheRestOfTheBody()
    {
        var body = $$$"""
            {"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"errors":{"code":131000},"statuses":[
              {"id":"wamid.A","status":"failed","timestamp":"1700000001","errors":{"code":131026}}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.ErrorCodes, Is.Empty);
        Assert.That(parsed.Statuses.Select(s => (s.ProviderMessageId, s.ErrorCode)), Is.EqualTo(new[] { ("wamid.A", "unknown") }));
    }

    [Test]
    public void Parse_TakesTheLatestTimestampADateTimeHolds_AndOpaqueDataOfTheLengthASendMayCarry()
    {
        var maxSeconds = (DateTime.MaxValue - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerSecond;
        var opaque = new string('m', 512);
        var body = $$$"""
            {"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"{{{Ours}}}"},"statuses":[
              {"id":"wamid.A","status":"read","timestamp":"{{{maxSeconds}}}","biz_opaque_callback_data":"{{{opaque}}}"},
              {"id":"wamid.B","status":"read","timestamp":"{{{maxSeconds + 1}}}"},
              {"id":"wamid.C","status":"read","timestamp":"1700000001","biz_opaque_callback_data":"{{{opaque}}}m"}]}}]}]}
            """;

        var parsed = WebhookPayload.Parse(Encoding.UTF8.GetBytes(body), Ours);

        Assert.That(parsed!.Statuses.Select(s => s.ProviderMessageId), Is.EqualTo(new[] { "wamid.A", "wamid.C" }));
        Assert.That(parsed.Statuses[0].OpaqueCallbackData, Is.EqualTo(opaque));
        Assert.That(parsed.Statuses[1].OpaqueCallbackData, Is.Null, "longer than a send may carry: not ours");
        Assert.That(parsed.Skipped, Is.EqualTo(1));
    }

    private static bool IsValid(string header, byte[] body, string[] secrets) =>
        WebhookSignature.Parse(header) is { } claimed && WebhookSignature.Matches(claimed, body, secrets);

    [TestCase("subscribe-token", "subscribe-token", true)]
    [TestCase("subscribe-token", "subscribe-toke", false)]
    [TestCase(null, "subscribe-token", false)]
    public void TokenMatches_ComparesExactly(string? given, string expected, bool matches) =>
        Assert.That(WebhookSignature.TokenMatches(given, expected), Is.EqualTo(matches));

    private static string Sign(byte[] body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
