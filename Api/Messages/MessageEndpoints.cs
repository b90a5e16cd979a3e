using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using GovSg.Api.Auth;
using GovSg.Api.Http;
using GovSg.Api.RateLimiting;
using GovSg.Api.Templates;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace GovSg.Api.Messages;

public static class MessageEndpoints
{
    /// <summary>Agency request bodies over this size are refused with 413 (SPEC §3).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public static RouteGroupBuilder MapMessages(this RouteGroupBuilder v1)
    {
        var group = v1.MapGroup("/transactional/govsg").RequireAuthorization().WithTags("Messages");
        group.MapPost("/send", SendAsync).WithName("SendMessage")
            .WithSummary("Send a message")
            .WithDescription("""
                Stores the message as `UNSENT` and answers 201 at once; a Dispatcher then calls WhatsApp. With
                `Prefer: wait=<1..10>` the answer waits until the message has left `UNSENT` (or the time is up).
                """)
            .AddEndpointFilter<SendRateLimitFilter>()
            .Accepts<SendRequestBody>("application/json")
            .Produces<MessageResponse>(StatusCodes.Status201Created)
            .ProducesError(400, 404, 413, 415, 422, 429, 503)
            .WithRequestHeader(ApiHeaders.IdempotencyKey)
            .WithRequestHeader(ApiHeaders.Prefer)
            .WithResponseHeaders([StatusCodes.Status201Created], ApiHeaders.Location, ApiHeaders.IdempotencyReplayed, ApiHeaders.PreferenceApplied)
            .WithResponseHeaders([], ApiHeaders.RateLimitLimit, ApiHeaders.RateLimitRemaining, ApiHeaders.RateLimitReset)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        group.MapGet("/{messageId}", GetAsync).WithName("GetMessage")
            .WithSummary("Get a message")
            .WithDescription("The message's current state. Another user's message is not found.")
            .ProducesError(400, 404, 503);
        group.MapGet("", ListAsync).WithName("ListMessages")
            .WithSummary("List your messages")
            .WithDescription("Your messages, newest first unless `sort_by` says otherwise; page with `limit` and `offset`.")
            .AddOpenApiOperationTransformer(ListQuery.DescribeAsync)
            .ProducesError(400, 503);
        return v1;
    }

    public static async Task<IResult> SendAsync(
        HttpContext context,
        Caller caller,
        SendService sender,
        StatusWaiter waiter,
        MessageStore store,
        ILogger<SendService> logger,
        CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.ContentLength > MaxBodyBytes)
        {
            return ApiError.PayloadTooLarge(MaxBodyBytes);
        }

        if (!request.HasJsonContentType())
        {
            return ApiError.UnsupportedMediaType();
        }

        var (bytes, bodyError) = await RequestBody.ReadAsync(request, MaxBodyBytes, cancellationToken);
        if (bodyError is not null)
        {
            return bodyError;
        }

        using var document = JsonBody.Parse(bytes!);
        if (document is null)
        {
            return ApiError.Malformed();
        }

        var idempotencyKey = request.Headers.TryGetValue(Idempotency.HeaderName, out var key) ? key.ToString() : null;
        var result = await sender.SendAsync(caller, document.RootElement, idempotencyKey, cancellationToken);
        if (result.Error is not null)
        {
            return result.Error;
        }

        var message = result.Message!;
        var wait = PreferWait.Parse(request.Headers.GetCommaSeparatedValues("Prefer"))
            ?? (caller.DefaultWaitSeconds > 0 ? caller.DefaultWaitSeconds : null);
        if (wait is { } seconds)
        {
            if (message.Status == "UNSENT")
            {
                var id = long.Parse(message.Id, CultureInfo.InvariantCulture);
                await waiter.WaitAsync(id, TimeSpan.FromSeconds(seconds), cancellationToken);
                try
                {
                    message = MessageResponse.From((await store.GetAsync(caller.UserId, id, cancellationToken))!);
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
                {
                    // The message is stored: it must be answered 201, with the state known at the commit.
                    logger.LogWarning(exception, "Reading message {MessageId} back after waiting failed", id);
                }
            }

            context.Response.Headers["Preference-Applied"] = $"wait={seconds}";
        }

        if (result.Replayed)
        {
            context.Response.Headers[Idempotency.ReplayedHeaderName] = "true";
        }

        return TypedResults.Created($"/v1/transactional/govsg/{message.Id}", message);
    }

    public static async Task<Results<Ok<MessageResponse>, ApiError>> GetAsync(
        string messageId,
        Caller caller,
        MessageStore store,
        CancellationToken cancellationToken)
    {
        if (!long.TryParse(messageId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
        {
            return ApiError.Validation("\"messageId\" must be a positive integer");
        }

        var row = await store.GetAsync(caller.UserId, id, cancellationToken);
        return row is null
            ? ApiError.NotFound($"GovSG message with ID {messageId} not found.")
            : TypedResults.Ok(MessageResponse.From(row));
    }

    public static async Task<Results<Ok<MessageListResponse>, ApiError>> ListAsync(
        HttpRequest request,
        Caller caller,
        MessageStore store,
        CancellationToken cancellationToken)
    {
        if (ListQuery.TryParse(request.Query, out var query) is { } error)
        {
            return error;
        }

        var (page, hasMore) = await store.ListAsync(caller.UserId, query!, cancellationToken);
        return TypedResults.Ok(new MessageListResponse(hasMore, page.Select(MessageResponse.From).ToList()));
    }
}

/// <summary>The send body as documented in OpenAPI; the handler parses the raw JSON itself to give exact messages.</summary>
public sealed record SendRequestBody(
    [property: MinLength(1)] string Recipient,
    long TemplateId,
    [property: WireDefault("{}"), MaxLength(100)] IReadOnlyDictionary<string, string> Params,
    [property: WireDefault($"\"{Template.DefaultLanguage}\""), WireValues(Vocabulary.LanguageCode)] string LanguageCode);
