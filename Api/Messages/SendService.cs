using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;
using GovSg.Api.Templates;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Messages;

/// <summary>The result of a send: the message (new or replayed) or the error to answer with.</summary>
public sealed record SendResult(MessageResponse? Message, bool Replayed, ApiError? Error);

/// <summary>
/// Accepts a message (SPEC §3.2): idempotency replay, then the request's own checks in order, then the insert as
/// UNSENT and the command publish. Nothing is stored when any check fails.
/// </summary>
public sealed class SendService(
    MessageStore messages,
    GrantedTemplates templates,
    CommandPublisher publisher,
    ApiMetrics metrics,
    IOptions<MessagesOptions> options,
    TimeProvider time)
{
    private readonly TimeSpan _pickUpDeadline = options.Value.PickUpDeadline;

    public async Task<SendResult> SendAsync(Caller caller, JsonElement body, string? idempotencyKey, CancellationToken cancellationToken)
    {
        byte[]? fingerprint = null;
        if (idempotencyKey is not null)
        {
            if (!Idempotency.IsValidKey(idempotencyKey))
            {
                return Failed(ApiError.Validation($"\"{Idempotency.HeaderName}\" must be 1 to 255 visible ASCII characters"));
            }

            fingerprint = Idempotency.Fingerprint(body);
            if (await ReplayAsync(caller, idempotencyKey, fingerprint, cancellationToken) is { } replay)
            {
                return replay;
            }
        }

        if (SendRequest.TryParse(body, out var request) is { } shapeError)
        {
            return Failed(shapeError);
        }

        var template = await templates.FindAsync(caller.UserId, request!.TemplateId, cancellationToken);
        if (template is null)
        {
            return Failed(ApiError.NotFound($"Template with ID {request.TemplateId} not found"));
        }

        var templateBody = template.BodyIn(request.LanguageCode);
        if (templateBody is null)
        {
            return Failed(ApiError.Validation($"Language Code {request.LanguageCode} not available on the template"));
        }

        var recipient = RecipientNormalizer.Normalize(request.Recipient);
        if (recipient is null)
        {
            return Failed(ApiError.InvalidRecipient(request.Recipient));
        }

        if (TemplateParams.Validate(template, templateBody, request.Params) is { } paramsError)
        {
            return Failed(paramsError);
        }

        var now = time.GetUtcNow().UtcDateTime.TruncateToMilliseconds();
        var parameters = request.Params.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var message = new NewMessage(
            caller.UserId,
            template.Id,
            recipient,
            JsonSerializer.Serialize(parameters, ApiJsonContext.Default.DictionaryStringString),
            request.LanguageCode,
            template.WhatsAppTemplateName,
            [.. template.Params],
            now,
            now + caller.MessageValidity,
            now + _pickUpDeadline,
            idempotencyKey,
            fingerprint);

        var id = await messages.InsertAsync(message);
        if (id is null)
        {
            // A concurrent request with the same key won the insert; PostgreSQL made us wait for its commit.
            if (await ReplayAsync(caller, idempotencyKey!, fingerprint!, cancellationToken) is { } replay)
            {
                return replay;
            }

            id = await messages.InsertAsync(message)
                ?? throw new InvalidOperationException("Idempotency key still taken after it was released");
        }

        Activity.Current?.SetTag("govsg.message_id", id.Value);
        await publisher.PublishAsync(id.Value, cancellationToken);
        metrics.MessageAccepted();
        return new SendResult(
            new MessageResponse(id.Value.ToString(CultureInfo.InvariantCulture), recipient,
                template.Id.ToString(CultureInfo.InvariantCulture), parameters, request.LanguageCode,
                now, now, null, null, null, null, null, null, null, "UNSENT"),
            false,
            null);
    }

    private async Task<SendResult?> ReplayAsync(Caller caller, string key, byte[] fingerprint, CancellationToken cancellationToken)
    {
        var existing = await messages.FindByIdempotencyKeyAsync(caller.UserId, key, cancellationToken);
        if (existing is null)
        {
            return null;
        }

        if (existing.CreatedAt <= time.GetUtcNow().UtcDateTime - Idempotency.Window)
        {
            await messages.ReleaseIdempotencyKeyAsync(existing.Id, cancellationToken);
            return null;
        }

        return existing.RequestHash.AsSpan().SequenceEqual(fingerprint)
            ? new SendResult(MessageResponse.From(existing), true, null)
            : Failed(ApiError.IdempotencyMismatch());
    }

    private static SendResult Failed(ApiError error) => new(null, false, error);
}
