using System.Text.Json;
using GovSg.Api.Http;
using GovSg.Contracts;
using GovSg.Hosting;

namespace GovSg.Api.Keys;

/// <summary>A create-key body whose shape is valid (SPEC §3.9); a missing or null type is decided by the caller's key.</summary>
public sealed record CreateKeyRequest(string Label, int ValidDays, string? Type)
{
    public const int MaxLabelLength = 100;
    public const int DefaultValidDays = 180;
    public const int MaxValidDays = 365;

    private static readonly string[] Fields = ["label", "valid_days", "type"];

    /// <summary>Checks label, valid_days, type in that order, then unknown fields in body order.</summary>
    public static ApiError? TryParse(JsonElement body, out CreateKeyRequest? request)
    {
        request = null;
        if (BodyFields.Read(body, Fields, out var shapeError) is not { } fields)
        {
            return shapeError;
        }

        var labelError = ParseLabel(fields["label"], out var labelValue);
        var validDaysError = ParseValidDays(fields["valid_days"], out var days);
        var typeError = ParseType(fields["type"], out var typeValue);
        if ((labelError ?? validDaysError ?? typeError ?? fields.UnknownFieldError) is { } error)
        {
            return error;
        }

        request = new CreateKeyRequest(labelValue, days, typeValue);
        return null;
    }

    private static ApiError? ParseLabel(JsonElement? value, out string label)
    {
        label = "";
        if (value is not { } element)
        {
            return ApiError.Validation("\"label\" is required");
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return ApiError.Validation("\"label\" must be a string");
        }

        label = element.GetString()!;
        return label.Length switch
        {
            0 => ApiError.Validation("\"label\" is not allowed to be empty"),
            > MaxLabelLength => ApiError.Validation($"\"label\" length must be less than or equal to {MaxLabelLength} characters long"),
            _ when DisplayText.HasControlCharacters(label) => ApiError.Validation("\"label\" must not contain control characters"),
            _ => null,
        };
    }

    private static ApiError? ParseValidDays(JsonElement? value, out int days)
    {
        days = DefaultValidDays;
        if (value is not { } element)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDecimal(out var number))
        {
            return ApiError.Validation("\"valid_days\" must be a number");
        }

        if (number != decimal.Truncate(number))
        {
            return ApiError.Validation("\"valid_days\" must be an integer");
        }

        if (number < 1)
        {
            return ApiError.Validation("\"valid_days\" must be greater than or equal to 1");
        }

        if (number > MaxValidDays)
        {
            return ApiError.Validation($"\"valid_days\" must be less than or equal to {MaxValidDays}");
        }

        days = (int)number;
        return null;
    }

    private static ApiError? ParseType(JsonElement? value, out string? type)
    {
        type = null;
        if (value is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind == JsonValueKind.String && KeyType.All.Contains(element.GetString()))
        {
            type = element.GetString();
            return null;
        }

        return ApiError.Validation($"\"type\" must be one of [{string.Join(", ", KeyType.All)}]");
    }
}
