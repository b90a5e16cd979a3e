using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;
using GovSg.Api.Messages;
using GovSg.Api.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Callbacks;

/// <summary>
/// Callback settings (SPEC §11.1): where the user's status events are POSTed, and the secret that signs them. Only live
/// keys read or change them: a test key must not redirect a live integration's events.
/// </summary>
public static class CallbackEndpoints
{
    public static RouteGroupBuilder MapCallbacks(this RouteGroupBuilder v1)
    {
        var group = v1.MapGroup("/callback-settings").RequireAuthorization().WithTags("Callbacks");
        group.MapGet("", GetAsync).WithName("GetCallbackSettings")
            .WithSummary("Read your callback settings")
            .WithDescription("The URL your status events are POSTed to, the last five characters of the signing secret, " +
                             "the last delivery's outcome and how many events are waiting. Live keys only.")
            .AddEndpointFilter<ReadRateLimitFilter>()
            .IgnoresBody()
            .InReadSlot()
            .ProducesError(401, 403, 429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        group.MapPut("", SetAsync).WithName("SetCallbackSettings")
            .WithSummary("Set or turn off your callback URL")
            .WithDescription("""
                `{"url": "https://…"}` sends every status event of your messages there (see the callback
                `statusEvent`); `{"url": null}` turns callbacks off and discards pending events. The first set creates a
                signing secret, returned as `secret` this once. The URL must be `https` (an operator may allow `http` and
                loopback on a local run). A literal private, loopback, link-local, CGNAT, unique-local, multicast or other
                special-purpose address is refused (an IPv6 address carrying an IPv4 one is judged by it), and every
                delivery checks the address it connected to as well. Live keys only.
                """)
            .AcceptsJson<CallbackSettingsRequestBody>()
            .AddOpenApiOperationTransformer(CallbackEventDoc.DescribeAsync)
            .AddEndpointFilter<ReadRateLimitFilter>()
            .ProducesError(400, 401, 403, 413, 415, 429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        group.MapPost("/rotate-secret", RotateSecretAsync).WithName("RotateCallbackSecret")
            .WithSummary("Rotate the callback signing secret")
            .WithDescription("A new secret, shown this once. The previous one stays valid for 24 h, during which every " +
                             "callback carries both signatures; a user keeps two secrets, so rotating again ends the " +
                             "older one at once. Live keys only.")
            .AddEndpointFilter<ReadRateLimitFilter>()
            .IgnoresBody()
            .ProducesError(401, 403, 429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        return v1;
    }

    public static async Task<Results<Ok<CallbackSettingsResponse>, ApiError>> GetAsync(Caller caller,
        CallbackSettingsStore store, CancellationToken cancellationToken)
    {
        if (TestKeyRefusal(caller) is { } refusal)
        {
            return refusal;
        }

        return TypedResults.Ok(CallbackSettingsResponse.From(await store.GetAsync(caller.UserId, cancellationToken)));
    }

    public static async Task<Results<Ok<CallbackSettingsUpdateResponse>, ApiError>> SetAsync(
        HttpRequest request,
        Caller caller,
        CallbackSettingsStore store,
        IOptions<CallbackOptions> options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (TestKeyRefusal(caller) is { } refusal)
        {
            return refusal;
        }

        var (document, transportError) = await JsonRequest.ReadAsync(request, MessageEndpoints.MaxBodyBytes, cancellationToken);
        if (transportError is not null)
        {
            return transportError;
        }

        using (document)
        {
            if (CallbackSettingsRequest.TryParse(document!.RootElement, options.Value.AllowInsecureLoopback, out var url)
                is { } shapeError)
            {
                return shapeError;
            }

            var (secret, settings) = await store.SetAsync(caller.UserId, url, time.GetUtcNow().UtcDateTime.TruncateToMilliseconds(),
                cancellationToken);
            return TypedResults.Ok(CallbackSettingsUpdateResponse.From(settings, secret));
        }
    }

    public static async Task<Results<Ok<CallbackSecretResponse>, ApiError>> RotateSecretAsync(Caller caller,
        CallbackSettingsStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        if (TestKeyRefusal(caller) is { } refusal)
        {
            return refusal;
        }

        var secret = await store.RotateSecretAsync(caller.UserId, time.GetUtcNow().UtcDateTime.TruncateToMilliseconds(),
            cancellationToken);
        return TypedResults.Ok(new CallbackSecretResponse(secret));
    }

    private static ApiError? TestKeyRefusal(Caller caller) => caller.IsTest
        ? ApiError.Unauthorized("A test key may not read or change callback settings")
        : null;
}
