using System.Text.Json;
using GovSg.Api.Http;
using GovSg.Callbacks;

namespace GovSg.Api.Callbacks;

/// <summary>A set body (SPEC §11.1): <c>{"url": "https://…"}</c>, or <c>{"url": null}</c> to turn callbacks off.</summary>
public static class CallbackSettingsRequest
{
    /// <summary>Checks the body's shape, then the URL against the address rules; on success <paramref name="url"/> is set.</summary>
    public static ApiError? TryParse(JsonElement body, bool allowInsecureLoopback, out string? url)
    {
        url = null;
        if (BodyFields.Read(body, ["url"], out var shapeError) is not { } fields)
        {
            return shapeError;
        }

        return ParseUrl(fields["url"], allowInsecureLoopback, out url) ?? fields.UnknownFieldError;
    }

    private static ApiError? ParseUrl(JsonElement? value, bool allowInsecureLoopback, out string? url)
    {
        url = null;
        switch (value)
        {
            case null:
                return ApiError.Validation("\"url\" is required");
            case { ValueKind: JsonValueKind.Null }:
                return null;
            case { ValueKind: JsonValueKind.String } text:
                url = text.GetString()!;
                return CallbackAddressRules.CheckUrl(url, allowInsecureLoopback) is { } refusal
                    ? ApiError.Validation(refusal)
                    : null;
            default:
                return ApiError.Validation("\"url\" must be a string");
        }
    }
}
