using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Http;

/// <summary>The wire shape of every error: exactly <c>{"code": "...", "message": "..."}</c> (SPEC §3.1).</summary>
public sealed record ErrorBody([property: WireValues(Vocabulary.ErrorCode)] string Code, string Message);

/// <summary>
/// An error answer: the HTTP status plus the envelope, and <c>Retry-After</c> when the client is told when to try again.
/// The one way errors leave the Api.
/// </summary>
public sealed class ApiError(int statusCode, string code, string message, int? retryAfterSeconds = null) : IResult, IStatusCodeHttpResult
{
    /// <summary>
    /// What a 503 asks a client to wait: the database or the broker is away, and the Api takes requests again as soon as it
    /// is back, without a restart; a database restart takes a few seconds.
    /// </summary>
    public const int ServiceUnavailableRetryAfterSeconds = 5;

    public int StatusCode { get; } = statusCode;

    public int? RetryAfterSeconds { get; } = retryAfterSeconds;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public ErrorBody Body { get; } = new(code, message);

    /// <summary>Every code an error can carry (SPEC §3.1): the enum clients are generated with.</summary>
    public static readonly IReadOnlyList<string> Codes =
    [
        "api_validation", "invalid_recipient", "malformed", "unauthenticated", "unauthorized", "not_found",
        "method_not_allowed", "payload_too_large", "unsupported_media_type", "idempotency_mismatch", "rate_limit",
        "internal_server", "service_unavailable",
    ];

    public static ApiError Validation(string message) => new(StatusCodes.Status400BadRequest, "api_validation", message);

    public static ApiError InvalidRecipient(string raw) =>
        new(StatusCodes.Status400BadRequest, "invalid_recipient", $"recipient {raw} is not a valid phone number");

    /// <summary>A body that stopped arriving (Kestrel's 408, or a route's own deadline): SPEC §3.1 has one code for it, with 400.</summary>
    public static ApiError BodyTimedOut() => Validation("The request body did not arrive in time");

    public static ApiError Malformed() =>
        new(StatusCodes.Status400BadRequest, "malformed", "Request body is not valid JSON");

    public static ApiError Unauthenticated(string message) => new(StatusCodes.Status401Unauthorized, "unauthenticated", message);

    public static ApiError Unauthorized(string message) => new(StatusCodes.Status403Forbidden, "unauthorized", message);

    public static ApiError NotFound(string message) => new(StatusCodes.Status404NotFound, "not_found", message);

    public static ApiError IdempotencyMismatch() => new(StatusCodes.Status422UnprocessableEntity, "idempotency_mismatch",
        "Idempotency-Key was already used with a different request body");

    public static ApiError RateLimited(int? retryAfterSeconds = null) => new(StatusCodes.Status429TooManyRequests, "rate_limit",
        "Too many requests; slow down and retry after the time in Retry-After", retryAfterSeconds);

    public static ApiError PayloadTooLarge(int limit) =>
        new(StatusCodes.Status413PayloadTooLarge, "payload_too_large", $"Request body must not exceed {limit} bytes");

    public static ApiError UnsupportedMediaType(string message = "Content-Type must be application/json") =>
        new(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", message);

    public static ApiError ServiceUnavailable() => new(StatusCodes.Status503ServiceUnavailable, "service_unavailable",
        "The service is temporarily unavailable; nothing was stored. Retry after the time in Retry-After",
        ServiceUnavailableRetryAfterSeconds);

    /// <summary>
    /// A write the database received and then did not answer: it may still commit, so the answer must not say that
    /// nothing was stored (SPEC §8: a 503 after the commit invites the agency to send it twice).
    /// </summary>
    public static ApiError OutcomeUnknown() => new(StatusCodes.Status503ServiceUnavailable, "service_unavailable",
        "The database stopped answering; the request may have been stored. Retry with the same Idempotency-Key, or look it up before sending it again",
        ServiceUnavailableRetryAfterSeconds);

    public static ApiError Internal(string traceId) => new(StatusCodes.Status500InternalServerError, "internal_server",
        $"An unexpected error occurred (trace id {traceId})");

    /// <summary>The envelope for a framework-level refusal that arrives with a bare status code.</summary>
    public static ApiError ForStatus(int statusCode) => statusCode switch
    {
        StatusCodes.Status404NotFound => NotFound("Route not found"),
        StatusCodes.Status405MethodNotAllowed => new(statusCode, "method_not_allowed", "Method not allowed on this route"),
        StatusCodes.Status413PayloadTooLarge => new(statusCode, "payload_too_large", "Request body is too large"),
        StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType(),
        StatusCodes.Status401Unauthorized => Unauthenticated("A valid API key is required"),
        StatusCodes.Status403Forbidden => Unauthorized("Access denied"),
        StatusCodes.Status429TooManyRequests => RateLimited(),
        StatusCodes.Status503ServiceUnavailable => ServiceUnavailable(),
        >= 500 => new(statusCode, "internal_server", "An unexpected error occurred"),
        // The rest refuse the request itself: SPEC §3.1 has one code for that, and it goes with 400.
        StatusCodes.Status408RequestTimeout => BodyTimedOut(),
        _ => Validation("The request could not be processed"),
    };

    /// <summary>Written with the app's JSON options, so errors escape text as every other answer does.</summary>
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        if (RetryAfterSeconds is { } seconds)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var options = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        return httpContext.Response.WriteAsJsonAsync(Body, (JsonTypeInfo<ErrorBody>)options.GetTypeInfo(typeof(ErrorBody)),
            "application/json; charset=utf-8", httpContext.RequestAborted);
    }
}
