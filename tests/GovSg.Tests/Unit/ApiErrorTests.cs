using System.Text.Json;
using GovSg.Api.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GovSg.Tests.Unit;

/// <summary>Framework refusals that arrive as bare status codes keep SPEC §3.1's pairs of code and status.</summary>
public sealed class ApiErrorTests
{
    private static readonly Dictionary<string, int> StatusOfCode = new()
    {
        ["api_validation"] = 400,
        ["invalid_recipient"] = 400,
        ["malformed"] = 400,
        ["unauthenticated"] = 401,
        ["unauthorized"] = 403,
        ["not_found"] = 404,
        ["method_not_allowed"] = 405,
        ["payload_too_large"] = 413,
        ["unsupported_media_type"] = 415,
        ["idempotency_mismatch"] = 422,
        ["rate_limit"] = 429,
        ["internal_server"] = 500,
        ["service_unavailable"] = 503,
    };

    [Test]
    public void ForStatus_AnyErrorStatus_GivesACodeWithTheStatusTheSpecPairsItWith()
    {
        for (var status = 400; status < 600; status++)
        {
            var error = ApiError.ForStatus(status);

            Assert.That(StatusOfCode, Does.ContainKey(error.Body.Code), $"status {status}");
            if (error.Body.Code != "internal_server")
            {
                Assert.That(error.StatusCode, Is.EqualTo(StatusOfCode[error.Body.Code]), $"status {status} became {error.Body.Code}");
            }
        }
    }

    [Test]
    public void ForStatus_ABodyThatStoppedArriving_Is400ApiValidation()
    {
        var error = ApiError.ForStatus(408);

        Assert.That((error.StatusCode, error.Body.Code), Is.EqualTo((400, "api_validation")));
        Assert.That(error.Body.Message, Is.EqualTo("The request body did not arrive in time"));
    }

    [Test]
    public void Codes_AreExactlyTheSpecsErrorCodes() =>
        // The enum clients are generated with (SPEC §3.1): a code missing or misspelt here breaks their deserialisers.
        Assert.That(ApiError.Codes, Is.EquivalentTo(StatusOfCode.Keys));

    [TestCase(404, 404, "not_found", "Route not found")]
    [TestCase(405, 405, "method_not_allowed", "Method not allowed on this route")]
    [TestCase(413, 413, "payload_too_large", "Request body is too large")]
    [TestCase(415, 415, "unsupported_media_type", "Content-Type must be application/json")]
    [TestCase(401, 401, "unauthenticated", "A valid API key is required")]
    [TestCase(403, 403, "unauthorized", "Access denied")]
    [TestCase(429, 429, "rate_limit", "Too many requests; slow down and retry after the time in Retry-After")]
    [TestCase(503, 503, "service_unavailable", "The service is temporarily unavailable; nothing was stored. Retry after the time in Retry-After")]
    [TestCase(500, 500, "internal_server", "An unexpected error occurred")]
    [TestCase(502, 502, "internal_server", "An unexpected error occurred")]
    [TestCase(400, 400, "api_validation", "The request could not be processed")]
    [TestCase(418, 400, "api_validation", "The request could not be processed")]
    public void ForStatus_GivesTheEnvelopeAClientIsToldAbout(int status, int answered, string code, string message)
    {
        var error = ApiError.ForStatus(status);

        Assert.That((error.StatusCode, error.Body), Is.EqualTo((answered, new ErrorBody(code, message))));
    }

    [Test]
    public void Factories_KeepTheirContractMessages()
    {
        Assert.That(ApiError.Malformed().Body, Is.EqualTo(new ErrorBody("malformed", "Request body is not valid JSON")));
        Assert.That(ApiError.IdempotencyMismatch().Body, Is.EqualTo(new ErrorBody("idempotency_mismatch",
            "Idempotency-Key was already used with a different request body")));
        Assert.That(ApiError.PayloadTooLarge(65_536).Body, Is.EqualTo(new ErrorBody("payload_too_large",
            "Request body must not exceed 65536 bytes")));
        Assert.That(ApiError.Internal("00-abc-01").Body, Is.EqualTo(new ErrorBody("internal_server",
            "An unexpected error occurred (trace id 00-abc-01)")));
        Assert.That(ApiError.InvalidRecipient("123").Body, Is.EqualTo(new ErrorBody("invalid_recipient",
            "recipient 123 is not a valid phone number")));
        Assert.That((ApiError.Malformed().StatusCode, ApiError.IdempotencyMismatch().StatusCode, ApiError.PayloadTooLarge(1).StatusCode,
            ApiError.Internal("t").StatusCode), Is.EqualTo((400, 422, 413, 500)));
    }

    [Test]
    public void OutcomeUnknown_DoesNotSayNothingWasStored()
    {
        // SPEC §8: a write that may have committed must not invite the agency to send it again under a new key.
        var error = ApiError.OutcomeUnknown();

        Assert.That((error.StatusCode, error.Body.Code, error.RetryAfterSeconds), Is.EqualTo((503, "service_unavailable", 5)));
        Assert.That(error.Body.Message, Is.EqualTo("The database stopped answering; the request may have been stored. " +
            "Retry with the same Idempotency-Key, or look it up before sending it again"));
    }

    [Test]
    public async Task ExecuteAsync_WritesTheStatusRetryAfterAndTheEnvelope()
    {
        var context = Answering();

        await ApiError.RateLimited(retryAfterSeconds: 7).ExecuteAsync(context);

        Assert.That(context.Response.StatusCode, Is.EqualTo(429));
        Assert.That(context.Response.Headers.RetryAfter.ToString(), Is.EqualTo("7"));
        Assert.That(context.Response.ContentType, Is.EqualTo("application/json; charset=utf-8"));
        context.Response.Body.Position = 0;
        using var body = await JsonDocument.ParseAsync(context.Response.Body);
        Assert.That(body.RootElement.GetProperty("code").GetString(), Is.EqualTo("rate_limit"));
        Assert.That(body.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "code", "message" }));
    }

    [Test]
    public async Task ExecuteAsync_WithoutARetryTime_SendsNoRetryAfter()
    {
        var context = Answering();

        await ApiError.NotFound("x").ExecuteAsync(context);

        Assert.That(context.Response.StatusCode, Is.EqualTo(404));
        Assert.That(context.Response.Headers.ContainsKey("Retry-After"), Is.False);
    }

    private static DefaultHttpContext Answering() => new()
    {
        RequestServices = new ServiceCollection().AddOptions().BuildServiceProvider(),
        Response = { Body = new MemoryStream() },
    };
}
