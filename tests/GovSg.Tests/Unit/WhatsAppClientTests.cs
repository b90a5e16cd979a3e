using System.Net;
using System.Text;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Refit;

namespace GovSg.Tests.Unit;

/// <summary>Answers the provider (or something in front of it) may give that are not Meta's documented bodies.</summary>
public sealed class WhatsAppClientTests
{
    [TestCase(200, "[]")]
    [TestCase(200, "null")]
    [TestCase(200, """{"messages":[1]}""")]
    [TestCase(200, """{"messages":[{"id":7}]}""")]
    [TestCase(200, """{"messages":[{"id":"wamid.\u0000"}]}""")]
    public async Task SendAsync_WhenASuccessHasNoReadableMessageId_IsATransientPossiblySentFailure(int status, string body)
    {
        var outcome = await SendAsync(status, body);

        Assert.That((outcome.Accepted, outcome.Kind, outcome.ErrorCode, outcome.PossiblySent),
            Is.EqualTo((false, FailureKind.Transient, "invalid_response", true)));
    }

    [TestCase(502, """{"error":{"code":"UPSTREAM_ERROR"}}""", FailureKind.Transient, "502")]
    [TestCase(400, """{"error":{"code":"x","message":"Bad"}}""", FailureKind.Permanent, "400")]
    [TestCase(500, "[1,2]", FailureKind.Transient, "provider_unavailable")]
    [TestCase(400, """{"error":{"code":131026,"message":"Message undeliverable"}}""", FailureKind.Permanent, "131026")]
    // Text that is not readable (an escaped lone surrogate) is left out; the code still classifies the failure.
    [TestCase(400, """{"error":{"code":132001,"message":"(#132001) Template \ud800 does not exist"}}""", FailureKind.Permanent, "132001")]
    [TestCase(400, """{"error":{"code":131026,"message":"x","error_data":{"details":"\udc00"}}}""", FailureKind.Permanent, "131026")]
    public async Task SendAsync_WhenAnErrorBodyIsOddlyShaped_ClassifiesItByWhatItCanRead(int status, string body,
        FailureKind kind, string code)
    {
        var outcome = await SendAsync(status, body);

        Assert.That((outcome.Kind, outcome.ErrorCode), Is.EqualTo((kind, code)));
    }

    /// <summary>
    /// A gateway's 504 passed the request on and timed out waiting for the answer: Meta may have sent it, so the message
    /// is held to reconcile rather than sent again at once (SPEC §5). Other 5xx from a gateway, and Meta's own coded
    /// errors, are retried.
    /// </summary>
    [TestCase(504, "<html>Gateway Time-out</html>", true)]
    [TestCase(504, "", true)]
    [TestCase(504, """{"error":{"code":"UPSTREAM_TIMEOUT"}}""", true)]
    [TestCase(502, "<html>Bad Gateway</html>", false)]
    [TestCase(503, "<html>Service Unavailable</html>", false)]
    [TestCase(500, "[1,2]", false)]
    [TestCase(504, """{"error":{"code":131000,"message":"Something went wrong"}}""", false)]
    [TestCase(503, """{"error":{"code":2,"message":"Service temporarily unavailable"}}""", false)]
    public async Task SendAsync_WhenAGatewayLostTheAnswer_TheCallMayHaveBeenSent(int status, string body, bool possiblySent)
    {
        var outcome = await SendAsync(status, body);

        Assert.That((outcome.Kind, outcome.PossiblySent), Is.EqualTo((FailureKind.Transient, possiblySent)));
    }

    [Test]
    public async Task SendAsync_WhenTheErrorTextHoldsANul_DropsIt()
    {
        var outcome = await SendAsync(400, """{"error":{"code":131026,"message":"Message\u0000 undeliverable"}}""");

        Assert.That(outcome.ErrorDescription, Is.EqualTo("Message undeliverable"));
    }

    [Test]
    public async Task SendAsync_TagsTheCallWithItsOpaqueCallbackData_AtTheTopLevelOfTheBody()
    {
        var answering = new Answering(HttpStatusCode.OK, """{"messages":[{"id":"wamid.A"}]}""");

        await SendAsync(answering);

        using var sent = System.Text.Json.JsonDocument.Parse(answering.LastBody!);
        Assert.That(sent.RootElement.GetProperty("biz_opaque_callback_data").GetString(), Is.EqualTo("m:1:1"));
    }

    [Test]
    public async Task SendAsync_AsksForHttp2_FallingBackToWhatTheProviderOffers()
    {
        var answering = new Answering(HttpStatusCode.OK, """{"messages":[{"id":"wamid.A"}]}""");

        await SendAsync(answering);

        Assert.That((answering.LastVersion, answering.LastVersionPolicy),
            Is.EqualTo((HttpVersion.Version20, HttpVersionPolicy.RequestVersionOrLower)));
    }

    [Test]
    public async Task SendAsync_WhenTheTimeoutCutsOffTheSuccessBody_IsATimeout()
    {
        // The answer's status and headers came in time, its body did not (a stalled connection, or a Dispatcher frozen
        // past its timeout): Refit hands the cut-off read back as a response without content. It is the call's timeout,
        // not an invalid answer: the runbook reads `govsg.provider.calls{code="timeout"}` beside the held calls.
        var clock = new FakeTimeProvider();
        var answering = new Answering(HttpStatusCode.OK, body: null);
        var sending = SendAsync(answering, clock);
        await answering.BodyRead.WaitAsync(TimeSpan.FromSeconds(10));

        clock.Advance(new WhatsAppOptions().Timeout);
        var outcome = await sending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That((outcome.Kind, outcome.ErrorCode, outcome.PossiblySent), Is.EqualTo((FailureKind.Transient, "timeout", true)));
        Assert.That(outcome.ErrorDescription, Is.EqualTo("No answer from the provider within 10 s"));
    }

    [TestCase(HttpRequestError.ConnectionError, false)]
    [TestCase(HttpRequestError.NameResolutionError, false)]
    [TestCase(HttpRequestError.SecureConnectionError, false)]
    [TestCase(HttpRequestError.ProxyTunnelError, false)]
    [TestCase(HttpRequestError.ResponseEnded, true)]
    [TestCase(HttpRequestError.Unknown, true)]
    public async Task SendAsync_WhenTheConnectionFails_MayHaveBeenSentOnlyOnceTheRequestCouldHaveGoneOut(HttpRequestError error,
        bool possiblySent)
    {
        // SPEC §5: a failure before the request was sent is retried freely; one after it may mean Meta sent it.
        var outcome = await SendAsync(new Failing(new HttpRequestException(error, "failed")));

        Assert.That((outcome.Accepted, outcome.Kind, outcome.ErrorCode, outcome.PossiblySent),
            Is.EqualTo((false, FailureKind.Transient, "provider_unavailable", possiblySent)));
        Assert.That(outcome.ErrorDescription, Is.EqualTo($"Provider connection failed ({error})"));
    }

    [TestCase(401, FailureKind.CredentialsBroken, "401", "HTTP 401 without an error body")]
    [TestCase(403, FailureKind.CredentialsBroken, "403", "HTTP 403 without an error body")]
    [TestCase(429, FailureKind.Throughput, "429", "HTTP 429 without an error body")]
    [TestCase(502, FailureKind.Transient, "provider_unavailable", "HTTP 502 with a body that is not the provider's JSON")]
    public async Task SendAsync_WhenSomethingInBetweenAnswersWithoutMetasBody_ClassifiesItByTheStatus(int status, FailureKind kind,
        string code, string description)
    {
        var outcome = await SendAsync(status, "<html>refused</html>");

        Assert.That((outcome.Kind, outcome.ErrorCode, outcome.ErrorDescription, outcome.PossiblySent),
            Is.EqualTo((kind, code, description, false)));
    }

    [Test]
    public async Task SendAsync_WhenASuccessHasNoMessageId_SaysSo() =>
        Assert.That((await SendAsync(200, "{}")).ErrorDescription, Is.EqualTo("The provider answered success without a message id"));

    [Test]
    public async Task SendAsync_SendsTheParametersInOrder_AndNoComponentsForATemplateWithoutParams()
    {
        var withParams = new Answering(HttpStatusCode.OK, """{"messages":[{"id":"wamid.A"}]}""");
        var withoutParams = new Answering(HttpStatusCode.OK, """{"messages":[{"id":"wamid.A"}]}""");

        await SendAsync(withParams, parameters: ["first", "second"]);
        await SendAsync(withoutParams, parameters: []);

        using var sent = System.Text.Json.JsonDocument.Parse(withParams.LastBody!);
        var components = sent.RootElement.GetProperty("template").GetProperty("components");
        Assert.That(components.GetArrayLength(), Is.EqualTo(1));
        Assert.That(components[0].GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("text").GetString()),
            Is.EqualTo(new[] { "first", "second" }));
        Assert.That(sent.RootElement.GetProperty("to").GetString(), Is.EqualTo("6591234567"), "E.164 digits, without the +");
        using var bare = System.Text.Json.JsonDocument.Parse(withoutParams.LastBody!);
        Assert.That(bare.RootElement.GetProperty("template").TryGetProperty("components", out _), Is.False);
    }

    [Test]
    public async Task SendAsync_CountsEveryCallByItsOutcomeAndCode()
    {
        // govsg.provider.calls is what SPEC §9.1's "provider latency and errors" dashboards read.
        using var counted = new Counted(DispatcherMetrics.Name, "govsg.provider.calls", new("code", "987654"));

        await SendAsync(400, """{"error":{"code":987654,"message":"Unheard of"}}""");

        Assert.That(counted.Total, Is.EqualTo(1));
    }

    private static Task<SendOutcome> SendAsync(int status, string body) => SendAsync(new Answering((HttpStatusCode)status, body));

    private static async Task<SendOutcome> SendAsync(HttpMessageHandler answering, TimeProvider? clock = null,
        IReadOnlyList<string>? parameters = null)
    {
        using var http = new HttpClient(answering) { BaseAddress = new Uri("https://graph.example/") };
        using var metrics = new DispatcherMetrics();
        var options = new WhatsAppOptions { PhoneNumberId = "1", AccessToken = "token" };
        var client = new WhatsAppClient(RestService.ForGenerated<IWhatsAppCloudApi>(http, WhatsAppCloudApi.Settings()), Options.Create(options),
            metrics, clock ?? TimeProvider.System);
        return await client.SendAsync(new OutgoingMessage("+6591234567", "t", "en_GB", parameters ?? ["a"], "m:1:1"),
            CancellationToken.None);
    }

    /// <summary>Answers with <paramref name="body"/>, or with a body that never comes when it is null.</summary>
    private sealed class Answering(HttpStatusCode status, string? body) : HttpMessageHandler
    {
        private readonly NeverArriving _neverArriving = new();

        public string? LastBody { get; private set; }

        public Version? LastVersion { get; private set; }

        public HttpVersionPolicy? LastVersionPolicy { get; private set; }

        /// <summary>Completes when the client starts reading a body that never comes.</summary>
        public Task BodyRead => _neverArriving.ReadStarted;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            (LastVersion, LastVersionPolicy) = (request.Version, request.VersionPolicy);
            LastBody = await request.Content!.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(status)
            {
                Content = body is null ? new StreamContent(_neverArriving) : new StringContent(body, Encoding.UTF8, "application/json"),
                RequestMessage = request,
            };
        }
    }

    /// <summary>Fails every call as the transport would.</summary>
    private sealed class Failing(HttpRequestException failure) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(failure);
    }

    /// <summary>A body whose bytes never come: every read waits until it is cancelled.</summary>
    private sealed class NeverArriving : Stream
    {
        private readonly TaskCompletionSource _readStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task ReadStarted => _readStarted.Task;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            // A read that nothing could ever end would hang the suite instead of failing the test.
            Assert.That(cancellationToken.CanBeCanceled, Is.True, "the body is read with a deadline");
            _readStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
