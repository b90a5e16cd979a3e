using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;
using GovSg.Api.RateLimiting;
using GovSg.Contracts;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Messages;

/// <summary>The result of a send: the message (new or replayed) or the error to answer with.</summary>
public sealed record SendResult(MessageResponse? Message, bool Replayed, ApiError? Error);

/// <summary>
/// Accepts a message (SPEC §3.2): idempotency replay, then the request's own checks (<see cref="SendValidator"/>), then
/// the insert as UNSENT and the command publish. Nothing is stored when any check fails.
/// </summary>
public sealed class SendService(
    MessageStore messages,
    SendValidator validator,
    CommandPublisher publisher,
    RateLimiter limiter,
    ApiMetrics metrics,
    IOptions<MessagesOptions> options,
    TimeProvider time)
{
    private readonly TimeSpan _pickUpDeadline = options.Value.PickUpDeadline;

    /// <summary>
    /// Sends one message; <paramref name="lookup"/> is what the key named when the send limit looked (null: look now).
    /// </summary>
    public async Task<SendResult> SendAsync(Caller caller, JsonElement body, string? idempotencyKey, IdempotencyLookup? lookup,
        CancellationToken cancellationToken)
    {
        BodyFingerprint? fingerprint = null;
        if (idempotencyKey is not null)
        {
            if (!Idempotency.IsValidKey(idempotencyKey))
            {
                return Failed(Idempotency.InvalidKey());
            }

            fingerprint = Idempotency.Fingerprint(body);
            var holders = lookup is not null && lookup.Key == idempotencyKey
                ? lookup.Holders
                : await messages.FindKeyHoldersAsync(caller.UserId, caller.KeyType, idempotencyKey, cancellationToken);
            if (await ReplayAsync(fingerprint, holders, cancellationToken) is { } replay)
            {
                return replay;
            }
        }

        var (send, error) = await validator.ValidateAsync(caller.UserId, body, cancellationToken);
        return error is not null
            ? Failed(error)
            : await AcceptAsync(caller, send!, idempotencyKey, fingerprint, cancellationToken);
    }

    /// <summary>What the insert stores for a valid send accepted now.</summary>
    public NewMessage ToNewMessage(Caller caller, ValidSend send, DateTime now, string? idempotencyKey, BodyFingerprint? fingerprint) =>
        new(caller.UserId,
            send.Template.Id,
            send.Recipient,
            JsonSerializer.Serialize(ParamsByName(send), ApiJsonContext.Default.DictionaryStringString),
            send.Request.LanguageCode,
            send.Template.WhatsAppTemplateName,
            [.. send.Template.Params],
            now,
            now + caller.MessageValidity,
            now + _pickUpDeadline,
            idempotencyKey,
            fingerprint?.Hash,
            caller.KeyType);

    /// <summary>The message object of a send just stored as UNSENT, without reading it back.</summary>
    public static MessageResponse Stored(long id, ValidSend send, DateTime now) =>
        new(id.ToString(CultureInfo.InvariantCulture), send.Recipient,
            send.Template.Id.ToString(CultureInfo.InvariantCulture), ParamsByName(send), send.Request.LanguageCode,
            now, now, null, null, null, null, null, null, null, MessageStatus.Unsent);

    private async Task<SendResult> AcceptAsync(Caller caller, ValidSend send, string? idempotencyKey, BodyFingerprint? fingerprint,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime.TruncateToMilliseconds();
        var message = ToNewMessage(caller, send, now, idempotencyKey, fingerprint);
        var id = await messages.InsertAsync(message);
        if (id is null)
        {
            // A concurrent request with the same key won the insert, or a batch on another Api took the key; PostgreSQL
            // made us wait for its commit. On another Api, it was storing after this one's look at the key, and this send
            // took a token that a replay (or a mismatch) does not take.
            var winner = await messages.FindKeyHoldersAsync(caller.UserId, caller.KeyType, idempotencyKey!, cancellationToken);
            if (await ReplayAsync(fingerprint!, winner, cancellationToken) is { } replay)
            {
                await limiter.GiveBackSendAsync(caller, 1, CancellationToken.None);
                return replay;
            }

            id = await messages.InsertAsync(message)
                ?? throw new InvalidOperationException("Idempotency key still taken after it was released");
        }

        Activity.Current?.SetTag("govsg.message_id", id.Value);
        publisher.Publish(id.Value, caller.IsTest);
        metrics.MessagesStored(1);
        return new SendResult(Stored(id.Value, send, now), false, null);
    }

    private static Dictionary<string, string> ParamsByName(ValidSend send) =>
        send.Request.Params.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>The answer when what holds the key makes this send a replay or a mismatch; null when the key is free.</summary>
    private async Task<SendResult?> ReplayAsync(BodyFingerprint fingerprint, KeyHolders holders,
        CancellationToken cancellationToken)
    {
        var windowStart = time.GetUtcNow().UtcDateTime - Idempotency.Window;
        var existing = holders.Message;
        if (existing is not null && existing.CreatedAt <= windowStart)
        {
            await messages.ReleaseIdempotencyKeyAsync(existing.Id, cancellationToken);
            existing = null;
        }

        if (existing is null)
        {
            // One key per user and key type across both routes: a batch's key cannot name a single send (SPEC §3.8),
            // even one a batch took after an expired single send had held it.
            return holders.Batch is { } batch && batch.CreatedAt > windowStart ? Failed(ApiError.IdempotencyMismatch()) : null;
        }

        return existing.RequestHash is { } stored && fingerprint.Matches(stored)
            ? new SendResult(MessageResponse.From(existing), true, null)
            : Failed(ApiError.IdempotencyMismatch());
    }

    private static SendResult Failed(ApiError error) => new(null, false, error);
}
