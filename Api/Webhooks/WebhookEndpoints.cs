using GovSg.Api.Extensions;
using GovSg.Api.Http;
using GovSg.Contracts;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Webhooks;

/// <summary>Meta's status webhooks (SPEC §6): verified, handed on to the Dispatcher through the broker, answered fast.</summary>
public static class WebhookEndpoints
{
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>Bodies up to this size are read without a place of <see cref="LargeWebhookBodies"/>.</summary>
    public const int SmallBodyBytes = 64 * 1024;

    /// <summary>Meta's route, under <c>/v1</c>: not an agency route, it takes no API key.</summary>
    public const string Path = "/v1/callback/govsg";

    public static RouteGroupBuilder MapWebhooks(this RouteGroupBuilder v1)
    {
        var group = v1.MapGroup(Path["/v1".Length..]).AllowAnonymous().WithTags("Provider webhooks");
        group.MapGet("", Verify).WithName("VerifyWebhook")
            .WithSummary("Verify the webhook subscription")
            .WithDescription("Meta's subscription handshake: answers the `hub.challenge` as text when the verify token matches.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .ProducesError(403);
        group.MapPost("", ReceiveAsync).WithName("ReceiveWebhook")
            .WithSummary("Receive provider statuses")
            .WithDescription("Meta's signed status webhook (up to 1 MiB). 200 once every status is handed to the broker.")
            .AcceptsJsonObject("The WhatsApp Cloud API webhook payload (`object`, `entry[].changes[].value.statuses[]`).")
            .WithRequestHeader(ApiHeaders.HubSignature, required: true)
            .ProducesError(401, 413, 503);
        return v1;
    }

    public static Results<ContentHttpResult, ApiError> Verify(
        [FromQuery(Name = "hub.mode")] string? mode,
        [FromQuery(Name = "hub.verify_token")] string? token,
        [FromQuery(Name = "hub.challenge")] string? challenge,
        IOptions<WebhookOptions> options)
    {
        return mode == "subscribe" && challenge is { Length: > 0 } && WebhookSignature.TokenMatches(token, options.Value.VerifyToken)
            ? TypedResults.Text(challenge, "text/plain")
            : ApiError.Unauthorized("Webhook verification failed");
    }

    public static async Task<Results<Ok, ApiError>> ReceiveAsync(
        HttpRequest request,
        IBusControl bus,
        StatusPublisher publisher,
        LargeWebhookBodies largeBodies,
        IOptions<WebhookOptions> options,
        ApiMetrics metrics,
        ILogger<WebhookMarker> logger,
        CancellationToken cancellationToken)
    {
        // A request without a well-formed signature is refused before its body is read: unsigned traffic costs no buffer.
        if (WebhookSignature.Parse(request.Headers[WebhookSignature.HeaderName]) is not { } claimed)
        {
            return InvalidSignature();
        }

        // A header of the right shape is anyone's to write, and Kestrel buffers up to 1 MiB of each request's body while it
        // lasts. So every body has a deadline, and one over 64 KiB (Meta's are a few KiB) or of unknown length takes one
        // of a few places or is refused 503 (Meta delivers it again): forged headers cannot make an Api hold 1 MiB for
        // each connection they open. Counted, not logged: anyone can send them.
        using var place = request.ContentLength <= SmallBodyBytes ? null : largeBodies.TryTake();
        if (place is { IsAcquired: false })
        {
            metrics.WebhookLargeRefused();
            return ApiError.ServiceUnavailable();
        }

        var settings = options.Value;
        byte[]? body;
        ApiError? bodyError;
        using (RequestBody.Deadline(request, settings.BodyTimeout))
        {
            (body, bodyError) = await RequestBody.ReadAsync(request, MaxBodyBytes, cancellationToken);
        }

        if (bodyError is not null)
        {
            return bodyError;
        }

        if (!WebhookSignature.Matches(claimed, body, settings.AppSecrets))
        {
            return InvalidSignature();
        }

        var parsed = WebhookPayload.Parse(body!, settings.PhoneNumberId);
        if (parsed is null)
        {
            // Signed by Meta but unreadable: a non-200 would only make Meta redeliver it for days.
            metrics.WebhookUnparsable();
            logger.LogWarning("Dropped a signed webhook body that could not be parsed ({Length} bytes)", body!.Length);
            return TypedResults.Ok();
        }

        Report(parsed, metrics, logger);
        return parsed.Statuses.Count == 0
            ? TypedResults.Ok()
            : await HandOnAsync(parsed.Statuses, bus, publisher, settings, metrics, logger, cancellationToken);
    }

    /// <summary>What a webhook held besides the statuses to hand on: operators' signs of trouble.</summary>
    private static void Report(WebhookPayload.Parsed parsed, ApiMetrics metrics, ILogger logger)
    {
        if (parsed.ErrorCodes.Count > 0)
        {
            logger.LogWarning("Provider reported errors not tied to a message: codes {ErrorCodes}", parsed.ErrorCodes);
        }

        if (parsed.OtherNumbers > 0)
        {
            // Not logged: an app that serves several numbers sends their statuses here on every webhook.
            metrics.WebhookOtherNumber(parsed.OtherNumbers);
        }

        if (parsed.Skipped > 0)
        {
            logger.LogWarning("Skipped {Count} malformed status(es) in a webhook", parsed.Skipped);
        }
    }

    /// <summary>200 only once every status is confirmed by the broker; otherwise 503 and Meta delivers the batch again.</summary>
    private static async Task<Results<Ok, ApiError>> HandOnAsync(List<ProviderStatus> statuses, IBusControl bus,
        StatusPublisher publisher, WebhookOptions settings, ApiMetrics metrics, ILogger logger, CancellationToken cancellationToken)
    {
        if (bus.CheckHealth().Status != BusHealthStatus.Healthy)
        {
            logger.LogWarning("The broker is unavailable; answering 503 to a webhook with {Count} provider status(es) so that it is delivered again",
                statuses.Count);
            return ApiError.ServiceUnavailable();
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.PublishTimeout);
        try
        {
            await publisher.PublishAsync(statuses, timeout.Token);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Whatever ended the publish but Meta going away (the timeout, the broker's refusal, or the publish cancelled
            // as the connection dropped): not handed on. The message is enough: during an outage every webhook comes here.
            logger.LogWarning("Could not hand {Count} provider status(es) to the broker ({Error}); answering 503",
                statuses.Count, exception.Message);
            return ApiError.ServiceUnavailable();
        }

        metrics.WebhookStatuses(statuses);
        return TypedResults.Ok();
    }

    private static ApiError InvalidSignature() => ApiError.Unauthenticated("Invalid or missing X-Hub-Signature-256");

    /// <summary>Names the log category of the webhook endpoints.</summary>
    public sealed class WebhookMarker;
}
