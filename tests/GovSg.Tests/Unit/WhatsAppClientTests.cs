using System.Net;
using System.Text;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using Microsoft.Extensions.Options;

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
    public async Task SendAsync_WhenAnErrorBodyIsOddlyShaped_ClassifiesItByWhatItCanRead(int status, string body,
        FailureKind kind, string code)
    {
        var outcome = await SendAsync(status, body);

        Assert.That((outcome.Kind, outcome.ErrorCode), Is.EqualTo((kind, code)));
    }

    [Test]
    public async Task SendAsync_WhenTheErrorTextHoldsANul_DropsIt()
    {
        var outcome = await SendAsync(400, """{"error":{"code":131026,"message":"Message\u0000 undeliverable"}}""");

        Assert.That(outcome.ErrorDescription, Is.EqualTo("Message undeliverable"));
    }

    private static async Task<SendOutcome> SendAsync(int status, string body)
    {
        using var http = new HttpClient(new Answering((HttpStatusCode)status, body));
        using var metrics = new DispatcherMetrics();
        var client = new WhatsAppClient(http, Options.Create(new WhatsAppOptions
        {
            BaseUrl = new Uri("https://graph.example/"),
            PhoneNumberId = "1",
            AccessToken = "token",
        }), metrics);
        return await client.SendAsync(new OutgoingMessage("+6591234567", "t", "en_GB", ["a"], "m:1:1"), CancellationToken.None);
    }

    private sealed class Answering(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }
}
