using System.Globalization;
using System.Text.Json;
using GovSg.Api.Auth;
using GovSg.Api.Http;
using GovSg.Api.RateLimiting;
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
            .AddEndpointFilter<SendRateLimitFilter>()
            .Accepts<SendRequestBody>("application/json")
            .Produces<MessageResponse>(StatusCodes.Status201Created)
            .ProducesError(400, 401, 403, 404, 413, 415, 422, 429, 503);
        group.MapGet("/{messageId}", GetAsync).WithName("GetMessage").ProducesError(400, 401, 403, 404, 503);
        group.MapGet("", ListAsync).WithName("ListMessages").AddOpenApiOperationTransformer(ListQuery.DescribeAsync)
            .ProducesError(400, 401, 403, 503);
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
            var applied = true;
            if (message.Status == "UNSENT")
            {
                // Past the user's cap on held waits the request is answered at once, without the preference (SPEC §7).
                var id = long.Parse(message.Id, CultureInfo.InvariantCulture);
                applied = await waiter.WaitAsync(caller.UserId, id, TimeSpan.FromSeconds(seconds), cancellationToken);
                if (applied)
                {
                    message = await ReadBackAsync(store, caller.UserId, message, logger, cancellationToken);
                }
            }

            if (applied)
            {
                context.Response.Headers["Preference-Applied"] = $"wait={seconds}";
            }
        }

        if (result.Replayed)
        {
            context.Response.Headers[Idempotency.ReplayedHeaderName] = "true";
        }

        return TypedResults.Created($"/v1/transactional/govsg/{message.Id}", message);
    }

    /// <summary>The message's state after a wait; the state known at the commit if the database cannot say.</summary>
    private static async Task<MessageResponse> ReadBackAsync(MessageStore store, long userId, MessageResponse message,
        ILogger logger, CancellationToken cancellationToken)
    {
        var id = long.Parse(message.Id, CultureInfo.InvariantCulture);
        try
        {
            return MessageResponse.From((await store.GetAsync(userId, id, cancellationToken))!);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // The message is stored: it must be answered 201.
            logger.LogWarning(exception, "Reading message {MessageId} back after waiting failed", id);
            return message;
        }
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
    string Recipient,
    long TemplateId,
    IReadOnlyDictionary<string, string>? Params,
    string? LanguageCode);
