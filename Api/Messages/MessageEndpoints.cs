using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using GovSg.Api.Auth;
using GovSg.Api.Http;
using GovSg.Api.RateLimiting;
using GovSg.Api.Templates;
using GovSg.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Api.Messages;

public static class MessageEndpoints
{
    /// <summary>Agency request bodies over this size are refused with 413 (SPEC §3).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Batch send bodies over this size are refused with 413 (SPEC §3).</summary>
    public const int MaxBatchBodyBytes = 4 * 1024 * 1024;

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
            .AcceptsJson<SendRequestBody>()
            .Produces<MessageResponse>(StatusCodes.Status201Created)
            .ProducesError(400, 404, 413, 415, 422, 429, 503)
            .WithRequestHeader(ApiHeaders.IdempotencyKey)
            .WithRequestHeader(ApiHeaders.Prefer)
            .WithResponseHeaders([StatusCodes.Status201Created], ApiHeaders.Location, ApiHeaders.IdempotencyReplayed, ApiHeaders.PreferenceApplied)
            .WithResponseHeaders(ApiHeaders.SendLimitAnswers, ApiHeaders.RateLimitLimit, ApiHeaders.RateLimitRemaining, ApiHeaders.RateLimitReset)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        group.MapPost("/batch", SendBatchAsync).WithName("SendMessageBatch")
            .WithSummary("Send a template message to many recipients")
            .WithDescription("Up to 1,000 send bodies in one call; one entry per item in request order, accepted or rejected with the error a single send would get.")
            .AddEndpointFilter<BatchSlotsFilter>()
            .AcceptsJson<BatchRequestBody>()
            .Produces<BatchResponse>()
            .ProducesError(400, 413, 415, 422, 429, 503)
            .WithRequestHeader(ApiHeaders.BatchIdempotencyKey)
            .WithResponseHeaders([StatusCodes.Status200OK], ApiHeaders.IdempotencyReplayed)
            .WithResponseHeaders(ApiHeaders.SendLimitAnswers, ApiHeaders.RateLimitLimit, ApiHeaders.RateLimitRemaining, ApiHeaders.RateLimitReset)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        group.MapGet("/{messageId}", GetAsync).WithName("GetMessage")
            .WithSummary("Get a message")
            .WithDescription("The message's current state. Another user's message, or one sent with the other key type (live or test), is not found.")
            .AddEndpointFilter<ReadRateLimitFilter>()
            .IgnoresBody()
            .InReadSlot()
            .ProducesError(400, 404, 429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        group.MapGet("", ListAsync).WithName("ListMessages")
            .WithSummary("List your messages")
            .WithDescription("""
                Your messages of the calling key's type (live or test), newest first unless `sort_by` says otherwise; page
                with `limit` and `offset`. `created_at` is when a send was received, and a batch's messages share one, so
                a message can be stored a moment after another with a later `created_at`: to poll for new messages, let
                each `created_at[gt]` overlap the last by a few seconds and skip ids already seen (callbacks need no polling).
                """)
            .AddOpenApiOperationTransformer(ListQuery.DescribeAsync)
            .AddEndpointFilter<ReadRateLimitFilter>()
            .IgnoresBody()
            .InReadSlot()
            .ProducesError(400, 429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        return v1;
    }

    public static async Task<Results<Created<MessageResponse>, ApiError>> SendAsync(
        HttpContext context,
        Caller caller,
        SendService sender,
        StatusWaiter waiter,
        MessageStore store,
        ILogger<SendService> logger,
        CancellationToken cancellationToken)
    {
        var (document, transportError) = await JsonRequest.ReadAsync(context.Request, MaxBodyBytes, cancellationToken);
        if (transportError is not null)
        {
            return transportError;
        }

        using (document)
        {
            if (Idempotency.ReadKey(context.Request, out var idempotencyKey) is { } keyError)
            {
                return keyError;
            }

            var result = await sender.SendAsync(caller, document!.RootElement, idempotencyKey,
                context.Features.Get<IdempotencyLookup>(), cancellationToken);
            IdempotencyGate.Release(context);
            if (result.Error is not null)
            {
                return result.Error;
            }

            var message = await WaitIfPreferredAsync(context, caller, result.Message!, waiter, store, logger, cancellationToken);
            if (result.Replayed)
            {
                context.Response.Headers[Idempotency.ReplayedHeaderName] = "true";
            }

            return TypedResults.Created($"/v1/transactional/govsg/{message.Id}", message);
        }
    }

    public static async Task<Results<Ok<BatchResponse>, ApiError>> SendBatchAsync(
        HttpContext context,
        Caller caller,
        BatchService batches,
        IOptions<MessagesOptions> options,
        CancellationToken cancellationToken)
    {
        // The batch holds its slot (BatchSlotsFilter) while its body arrives.
        var (document, transportError) = await JsonRequest.ReadAsync(context.Request, MaxBatchBodyBytes,
            options.Value.BatchBodyTimeout, cancellationToken);
        using (document)
        {
            string? idempotencyKey = null;
            var refusal = transportError ?? Idempotency.ReadKey(context.Request, out idempotencyKey);
            var result = refusal is not null
                ? await batches.RefuseAsync(context, caller, refusal)
                : await batches.SendAsync(context, caller, document!.RootElement, idempotencyKey);
            if (result.Error is not null)
            {
                return result.Error;
            }

            if (result.Replayed)
            {
                context.Response.Headers[Idempotency.ReplayedHeaderName] = "true";
            }

            return TypedResults.Ok(result.Response!);
        }
    }

    /// <summary>The message's state after a wait; the state known at the commit if the database cannot say.</summary>
    private static async Task<MessageResponse> ReadBackAsync(MessageStore store, Caller caller, MessageResponse message,
        ILogger logger, CancellationToken cancellationToken)
    {
        var id = long.Parse(message.Id, CultureInfo.InvariantCulture);
        try
        {
            return MessageResponse.From((await store.GetAsync(caller.UserId, caller.KeyType, id, cancellationToken))!);
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
        // SPEC §3.3 keeps 400 for what is not a positive integer at all; one past the ids' range is one no message has.
        if (!messageId.All(char.IsAsciiDigit) || messageId.All(digit => digit == '0'))
        {
            return ApiError.Validation("\"messageId\" must be a positive integer");
        }

        var row = long.TryParse(messageId, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? await store.GetAsync(caller.UserId, caller.KeyType, id, cancellationToken)
            : null;
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

        var (page, hasMore) = await store.ListAsync(caller.UserId, caller.KeyType, query!, cancellationToken);
        return TypedResults.Ok(new MessageListResponse(hasMore, page.Select(MessageResponse.From).ToList()));
    }

    /// <summary>
    /// Honours <c>Prefer: wait</c> (or the user's default wait, unless the request prefers <c>respond-async</c>): the
    /// message's state once it left UNSENT or the time is up. Past the user's cap on held waits the request is answered at
    /// once, without the preference (SPEC §7).
    /// </summary>
    private static async Task<MessageResponse> WaitIfPreferredAsync(HttpContext context, Caller caller,
        MessageResponse message, StatusWaiter waiter, MessageStore store, ILogger logger, CancellationToken cancellationToken)
    {
        var preferences = context.Request.Headers.GetCommaSeparatedValues(ApiHeaders.Prefer.Name);
        var wait = PreferWait.Parse(preferences)
            ?? (caller.DefaultWaitSeconds > 0 && !PreferWait.RespondAsync(preferences) ? caller.DefaultWaitSeconds : null);
        if (wait is not { } seconds)
        {
            return message;
        }

        if (message.Status == MessageStatus.Unsent)
        {
            var id = long.Parse(message.Id, CultureInfo.InvariantCulture);
            if (!await waiter.WaitAsync(caller.UserId, id, TimeSpan.FromSeconds(seconds), cancellationToken))
            {
                return message;
            }

            message = await ReadBackAsync(store, caller, message, logger, cancellationToken);
        }

        context.Response.Headers[ApiHeaders.PreferenceApplied.Name] = $"wait={seconds}";
        return message;
    }
}

/// <summary>The batch body as documented in OpenAPI: 1 to 1,000 send bodies.</summary>
[RefusesUnknownFields]
public sealed record BatchRequestBody([property: MinLength(1), MaxLength(BatchRequest.MaxItems)] IReadOnlyList<SendRequestBody> Messages);

/// <summary>The send body as documented in OpenAPI; the handler parses the raw JSON itself to give exact messages.</summary>
[RefusesUnknownFields]
public sealed record SendRequestBody(
    [property: MinLength(1)] string Recipient,
    [property: Range(1d, SendRequest.MaxSafeInteger),
               Description("The template's id. A string of its digits (\"3\") is accepted too, as the old API accepted it.")]
    long TemplateId,
    [property: WireDefault("{}"), MaxLength(100), NonEmptyValues] IReadOnlyDictionary<string, string> Params,
    [property: WireDefault($"\"{Template.DefaultLanguage}\""), WireValues(Vocabulary.LanguageCode)] string LanguageCode);
