using System.Net;

namespace GovSg.Tests.Integration;

/// <summary>Every refusal of SPEC §3.1–3.2 over HTTP: exact status, code and message, nothing stored, nothing published.</summary>
public sealed class SendValidationTests
{
    private static TestSystem Env => TestEnvironment.Current;

    private TestUser _user = null!;

    [OneTimeSetUp]
    public async Task CreateUserAsync() => _user = await Env.CreateUserAsync(grants: [1, 2, 3]);

    [TestCase("""{"template_id":1}""", 400, "api_validation", "\"recipient\" is required")]
    [TestCase("""{"recipient":"91234567","template_id":"one"}""", 400, "api_validation", "\"template_id\" must be a number")]
    [TestCase("""{"recipient":"91234567","template_id":1,"params":{"agency":""}}""", 400, "api_validation", "\"params.agency\" is not allowed to be empty")]
    [TestCase("""{"recipient":"91234567","template_id":3,"language_code":"jp"}""", 400, "api_validation", "\"language_code\" must be one of [en_GB, zh_CN, ms, ta]")]
    [TestCase("""{"recipient":"91234567","template_id":3,"sender":"x"}""", 400, "api_validation", "\"sender\" is not allowed")]
    [TestCase("""{"recipient":"11234567","template_id":999}""", 404, "not_found", "Template with ID 999 not found")]
    [TestCase("""{"recipient":"11234567","template_id":2,"language_code":"ms"}""", 400, "api_validation", "Language Code ms not available on the template")]
    [TestCase("""{"recipient":"11234567","template_id":3,"params":{"x":"y"}}""", 400, "invalid_recipient", "recipient 11234567 is not a valid phone number")]
    [TestCase("""{"recipient":"+6561234567","template_id":3}""", 400, "invalid_recipient", "recipient +6561234567 is not a valid phone number")]
    [TestCase("""{"recipient":"91234567","template_id":3,"params":{"x":"y"}}""", 400, "api_validation", "Template 3 does not accept any params")]
    [TestCase("""{"recipient":"91234567","template_id":1}""", 400, "api_validation", "No params provided; params needed for template 1")]
    [TestCase("""{"recipient":"91234567","template_id":2,"params":{"venue":"A","date":"B"}}""", 400, "api_validation", "Missing values for params time, reference")]
    [TestCase("""{"recipient":"91234567","template_id":2,"params":{"venue":"A","date":"B","time":"C","reference":"D","x":"E"}}""", 400, "api_validation", "Unexpected params for template 2: x")]
    [TestCase("""{"recipient":"91234567","template_id":2,"params":{"venue":"A\nB","date":"B","time":"C","reference":"D"}}""", 400, "api_validation", "\"params.venue\" must not contain newlines or tabs")]
    [TestCase("""{"recipient":"91234567","template_id":1""", 400, "malformed", "Request body is not valid JSON")]
    [TestCase("", 400, "malformed", "Request body is not valid JSON")]
    [TestCase("""{"recipient":"\ud800","template_id":3}""", 400, "malformed", "Request body is not valid JSON")]
    [TestCase("""{"\udc00":1,"recipient":"91234567","template_id":3}""", 400, "malformed", "Request body is not valid JSON")]
    [TestCase("""{"recipient":"91234567","template_id":1,"params":{"recipient_name":"a\u0000b","officer_name":"b","officer_designation":"c","agency":"d","topic":"e","timeslot":"f"}}""", 400, "api_validation", "\"params.recipient_name\" must not contain control characters")]
    public async Task Send_WhenInvalid_AnswersTheFirstFailureAndStoresAndPublishesNothing(string body, int status, string code, string message)
    {
        var published = await Env.PublishedCommandCountAsync();

        var (response, error) = await MessageJson.PostRawAsync(_user.Client, body);

        Assert.That((int)response.StatusCode, Is.EqualTo(status));
        Assert.That(error.Str("code"), Is.EqualTo(code));
        Assert.That(error.Str("message"), Is.EqualTo(message));
        Assert.That(error.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "code", "message" }));
        Assert.That(await Env.CountMessagesAsync(_user.Id), Is.Zero);
        Assert.That(await Env.PublishedCommandCountAsync(), Is.EqualTo(published));
    }

    // SPEC §3: compatible with the old API, which read bodies with JSON.parse, where a repeated name keeps its last value:
    // a param name's earlier values are neither kept nor checked.
    [TestCase("\"\"")]
    [TestCase("1")]
    [TestCase("null")]
    public async Task Send_WhenAParamNameIsRepeated_KeepsItsLastValueAsTheOldApiDid(string earlierValue)
    {
        var user = await Env.CreateUserAsync(grants: [2]);
        var body = $$$"""{"recipient":"91234567","template_id":2,"params":{"venue":{{{earlierValue}}},"venue":"Blk 1","date":"1 May","time":"1 PM","reference":"R1"}}""";

        var (response, message) = await MessageJson.PostRawAsync(user.Client, body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), message.ToString());
        Assert.That(message.GetProperty("params").GetProperty("venue").GetString(), Is.EqualTo("Blk 1"));
    }

    // SPEC §3.6: "anything else non-numeric (besides one leading +) is invalid"; a line break is no separator.
    [TestCase("91234567\n")]
    [TestCase("+6591234567\n")]
    [TestCase("14128018888\n")]
    public async Task Send_WhenTheRecipientEndsInALineBreak_AnswersInvalidRecipientAndStoresNothing(string recipient)
    {
        var user = await Env.CreateUserAsync();
        var body = System.Text.Json.JsonSerializer.Serialize(new { recipient, template_id = 3 });

        var (response, error) = await MessageJson.PostRawAsync(user.Client, body);

        Assert.That((int)response.StatusCode, Is.EqualTo(400));
        Assert.That(error.Str("code"), Is.EqualTo("invalid_recipient"));
        Assert.That(error.Str("message"), Is.EqualTo($"recipient {recipient} is not a valid phone number"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    // SPEC §3.1: "no empty 4xx bodies"; §3.2: the key is 1..255 visible ASCII characters, else a 400 in the envelope.
    [Test]
    public async Task Send_WithAnOverlongIdempotencyKey_AnswersInTheEnvelopeAndStoresNothing()
    {
        var user = await Env.CreateUserAsync();

        using var response = await SendWithIdempotencyKeyAsync(user, new string('k', 40_000));
        var text = await response.Content.ReadAsStringAsync();

        Assert.That((int)response.StatusCode, Is.InRange(400, 499));
        Assert.That(text, Does.StartWith("""{"code":"""), $"HTTP {(int)response.StatusCode} answered '{text}'");
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    // Kestrel holds a request's headers for as long as the request lasts, and anyone may open one without a key: beyond
    // 64 KiB, the server refuses the headers itself (README, "Errors"), rather than keeping up to 1 MiB of them a connection.
    [Test]
    public async Task Send_WithAHeaderBlockOver64KiB_IsRefusedByTheServerAndStoresNothing()
    {
        var user = await Env.CreateUserAsync();

        using var response = await SendWithIdempotencyKeyAsync(user, new string('k', 70_000));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestHeaderFieldsTooLarge));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    private static async Task<HttpResponseMessage> SendWithIdempotencyKeyAsync(TestUser user, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new StringContent("""{"recipient":"91234567","template_id":3}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return await user.Client.SendAsync(request);
    }

    [Test]
    public async Task Send_WhenTheTemplateExistsButIsNotGranted_LooksExactlyLikeAMissingOne()
    {
        var user = await Env.CreateUserAsync(grants: [1]);

        var (response, error) = await MessageJson.PostRawAsync(user.Client, """{"recipient":"91234567","template_id":3}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(error.Str("message"), Is.EqualTo("Template with ID 3 not found"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    [Test]
    public async Task Send_WhenInvalid_WritesTheMessageQuotesAsPlainEscapedQuotes()
    {
        using var response = await _user.Client.PostAsync(MessageJson.SendPath,
            new StringContent("""{"template_id":1}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.That(await response.Content.ReadAsStringAsync(),
            Is.EqualTo("""{"code":"api_validation","message":"\"recipient\" is required"}"""));
    }

    [Test]
    public async Task Send_WhenTheBodyIsNotUtf8_AnswersMalformedAndStoresNothing()
    {
        var body = System.Text.Encoding.UTF8.GetBytes("""{"recipient":"9123456#","template_id":3}""");
        body[Array.IndexOf(body, (byte)'#')] = 0xFF;
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } },
        };

        var (response, error) = await MessageJson.SendAsync(_user.Client, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("code"), Is.EqualTo("malformed"));
        Assert.That(await Env.CountMessagesAsync(_user.Id), Is.Zero);
    }

    [Test]
    public async Task Send_WhenTheBodyStartsWithAByteOrderMark_ReadsIt()
    {
        var user = await Env.CreateUserAsync(grants: [3]);

        var (response, _) = await MessageJson.PostRawAsync(user.Client, "\uFEFF" + """{"recipient":"91234567","template_id":3}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
    }

    [Test]
    public async Task Send_WhenContentTypeIsNotJson_Answers415()
    {
        var (response, error) = await MessageJson.PostRawAsync(_user.Client, """{"recipient":"91234567","template_id":3}""", "text/plain");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That(error.Str("code"), Is.EqualTo("unsupported_media_type"));
        Assert.That(await Env.CountMessagesAsync(_user.Id), Is.Zero);
    }

    // JSON between systems is UTF-8 (RFC 8259 §8.1): a body in another charset is refused as such, as the old API's
    // body-parser did, not read as UTF-8 and answered "malformed" (or, all ASCII, stored).
    [TestCase("application/json; charset=iso-8859-1")]
    [TestCase("application/json; charset=\"utf-16\"")]
    public async Task Send_WhenTheCharsetIsNotUtf8_Answers415AndStoresNothing(string contentType)
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new ByteArrayContent("""{"recipient":"91234567","template_id":3}"""u8.ToArray()),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var (response, error) = await MessageJson.SendAsync(user.Client, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That(error.Str("message"), Is.EqualTo("Content-Type charset must be utf-8"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    // A compressed body is refused as such, not read as JSON and answered "malformed"; identity is no compression.
    [Test]
    public async Task Send_WhenTheBodyIsCompressed_Answers415AndStoresNothing()
    {
        var json = System.Text.Encoding.UTF8.GetBytes("""{"recipient":"91234567","template_id":3}""");
        using var compressed = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(json);
        }

        var user = await Env.CreateUserAsync(grants: [3]);
        var (gzipped, error) = await SendEncodedAsync(user.Client, compressed.ToArray(), "gzip");
        var (identity, _) = await SendEncodedAsync(user.Client, json, "identity");

        Assert.That(gzipped.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That(error.Str("code"), Is.EqualTo("unsupported_media_type"));
        Assert.That(error.Str("message"), Is.EqualTo("Content-Encoding is not supported: send the body uncompressed"));
        Assert.That(gzipped.Headers.GetValues("Accept-Encoding"), Is.EqualTo(new[] { "identity" }));
        Assert.That(identity.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    private static async Task<(HttpResponseMessage Response, System.Text.Json.JsonElement Body)> SendEncodedAsync(
        HttpClient client, byte[] body, string encoding)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" }, { "Content-Encoding", encoding } } },
        };
        return await MessageJson.SendAsync(client, request);
    }

    [Test]
    public async Task Send_WhenThe64KiBBodyCarriesThousandsOfParams_RefusesItQuickly()
    {
        var names = Enumerable.Range(0, 5_900).Select(i => $"\"{i:x4}\":\"v\"");
        var body = """{"recipient":"91234567","template_id":3,"params":{""" + string.Join(',', names) + "}}";
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var (response, error) = await MessageJson.PostRawAsync(_user.Client, body);

        Assert.That(body, Has.Length.InRange(60_000, 64 * 1024));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("message"), Is.EqualTo("\"params\" must have less than or equal to 100 keys"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(await Env.CountMessagesAsync(_user.Id), Is.Zero);
    }

    [Test]
    public async Task Send_WhenTheBodyIsOver64KiB_Answers413()
    {
        var body = $$"""{"recipient":"91234567","template_id":3,"pad":"{{new string('x', 64 * 1024)}}"}""";

        var (response, error) = await MessageJson.PostRawAsync(_user.Client, body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(error.Str("code"), Is.EqualTo("payload_too_large"));
    }

    // SPEC §3: "Order of handling ... transport checks (413, 415, `malformed`)": an over-size body with the wrong content
    // type is answered 413 whether its size is announced (Content-Length) or only seen while reading it (chunked).
    [Test]
    public async Task Send_WhenAChunkedBodyIsOver64KiBAndNotJson_Answers413First()
    {
        var body = $$"""{"recipient":"91234567","template_id":3,"pad":"{{new string('x', 70_000)}}"}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body))) { Headers = { { "Content-Type", "text/plain" } } },
        };
        request.Headers.TransferEncodingChunked = true;

        var (response, error) = await MessageJson.SendAsync(_user.Client, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), error.ToString());
        Assert.That(error.Str("code"), Is.EqualTo("payload_too_large"));
        Assert.That(await Env.CountMessagesAsync(_user.Id), Is.Zero);
    }

    [Test]
    public async Task UnknownRoute_AnswersNotFoundInTheEnvelope()
    {
        var (response, error) = await MessageJson.GetAsync(_user.Client, "v1/nothing/here");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(error.Str("code"), Is.EqualTo("not_found"));
    }

    [Test]
    public async Task WrongMethod_AnswersMethodNotAllowedInTheEnvelope()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, MessageJson.SendPath) { Content = new StringContent("{}") };

        var (response, error) = await MessageJson.SendAsync(_user.Client, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That(error.Str("code"), Is.EqualTo("method_not_allowed"));
    }
}
