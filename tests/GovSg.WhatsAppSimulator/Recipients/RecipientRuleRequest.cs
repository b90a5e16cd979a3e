using System.Text.Json.Serialization;
using GovSg.WhatsAppSimulator.Messages;
using GovSg.WhatsAppSimulator.Webhooks;

namespace GovSg.WhatsAppSimulator.Recipients;

/// <summary>
/// The body of <c>PUT /_sim/recipients/{recipient}</c>; every field is optional. Unknown fields are refused so that a
/// misspelt rule fails loudly instead of silently doing nothing.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record RecipientRuleRequest(
    SendErrorRequest? SendError,
    int? FailTimes,
    int? ExtraDelayMs,
    int? DelayTimes,
    WebhookMode? Webhooks,
    int? WebhookErrorCode)
{
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (SendError is not null)
        {
            SendError.Validate(errors);
        }

        if (FailTimes is not null && SendError is null)
        {
            errors["fail_times"] = ["needs a send_error"];
        }

        if (FailTimes < 0)
        {
            errors["fail_times"] = ["must not be negative"];
        }

        if (DelayTimes is not null && ExtraDelayMs is null)
        {
            errors["delay_times"] = ["needs an extra_delay_ms"];
        }

        if (DelayTimes < 0)
        {
            errors["delay_times"] = ["must not be negative"];
        }

        if (ExtraDelayMs is < 0 or > 600_000)
        {
            errors["extra_delay_ms"] = ["must be between 0 and 600000"];
        }

        if (WebhookErrorCode <= 0)
        {
            errors["webhook_error_code"] = ["must be positive"];
        }

        return errors;
    }

    public RecipientRule ToRule() => new(
        SendError?.ToFailure(),
        FailTimes,
        ExtraDelayMs ?? 0,
        DelayTimes,
        Webhooks ?? WebhookMode.Normal,
        WebhookErrorCode ?? GraphErrors.Undeliverable);
}

/// <summary>
/// Either Meta's JSON error (<c>code</c>, with <c>http_status</c> defaulting to 400 and <c>title</c>/<c>details</c> to
/// Meta's wording), or <c>raw_status</c>: that status with an HTML body, as an intermediary answers.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record SendErrorRequest(int? HttpStatus, int? Code, string? Title, string? Details, int? RawStatus)
{
    public void Validate(Dictionary<string, string[]> errors)
    {
        if ((Code is null) == (RawStatus is null))
        {
            errors["send_error"] = ["needs exactly one of code and raw_status"];
        }

        if (RawStatus is not null && (HttpStatus is not null || Title is not null || Details is not null))
        {
            errors["send_error.raw_status"] = ["cannot be combined with http_status, title or details"];
        }

        if (HttpStatus is < 400 or > 599)
        {
            errors["send_error.http_status"] = ["must be between 400 and 599"];
        }

        if (RawStatus is < 400 or > 599)
        {
            errors["send_error.raw_status"] = ["must be between 400 and 599"];
        }
    }

    public SendFailure ToFailure() => RawStatus is { } rawStatus
        ? new SendFailure(rawStatus, Error: null)
        : new SendFailure(
            HttpStatus ?? StatusCodes.Status400BadRequest,
            GraphErrors.Scripted(HttpStatus ?? StatusCodes.Status400BadRequest, Code ?? 0, Title, Details));
}
