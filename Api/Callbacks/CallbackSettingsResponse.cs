using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using GovSg.Api.Http;
using GovSg.Callbacks;

namespace GovSg.Api.Callbacks;

/// <summary>The callback settings object of SPEC §11.1: exactly these fields.</summary>
public sealed record CallbackSettingsResponse(
    string? Url,
    string? SecretLastFive,
    DateTime? LastSuccessAt,
    DateTime? LastFailureAt,
    string? LastFailureReason,
    long Pending)
{
    public static CallbackSettingsResponse From(CallbackSettingsRow row) => new(row.Url, row.SecretLastFive, row.LastSuccessAt,
        row.LastFailureAt, row.LastFailureReason, row.Pending);
}

/// <summary>The answer to a set: the settings object, plus the signing secret when this set created it (shown once).</summary>
public sealed record CallbackSettingsUpdateResponse(
    string? Url,
    string? SecretLastFive,
    DateTime? LastSuccessAt,
    DateTime? LastFailureAt,
    string? LastFailureReason,
    long Pending,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Secret)
{
    public static CallbackSettingsUpdateResponse From(CallbackSettingsRow row, string? secret) => new(row.Url,
        row.SecretLastFive, row.LastSuccessAt, row.LastFailureAt, row.LastFailureReason, row.Pending, secret);
}

/// <summary>A new signing secret, shown this once.</summary>
public sealed record CallbackSecretResponse(string Secret);

/// <summary>The set body as documented in OpenAPI; the handler parses the raw JSON itself to give exact messages.</summary>
[RefusesUnknownFields]
public sealed record CallbackSettingsRequestBody([property: MaxLength(CallbackAddressRules.MaxUrlLength)] string? Url);
