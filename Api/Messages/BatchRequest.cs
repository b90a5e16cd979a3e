using System.Text.Json;
using GovSg.Api.Http;

namespace GovSg.Api.Messages;

/// <summary>The request-level checks of a batch send (SPEC §3.8); each item is a send body, checked later on its own.</summary>
public static class BatchRequest
{
    public const int MaxItems = 1000;

    /// <summary>The items, or the error when the batch as a whole is refused; <c>messages</c> first, then unknown fields.</summary>
    public static ApiError? TryParse(JsonElement body, out IReadOnlyList<JsonElement> items)
    {
        items = [];
        if (BodyFields.Read(body, ["messages"], out var shapeError) is not { } fields)
        {
            return shapeError;
        }

        if (fields["messages"] is not { } list)
        {
            return ApiError.Validation("\"messages\" is required");
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            return ApiError.Validation("\"messages\" must be an array");
        }

        var count = list.GetArrayLength();
        if (count == 0)
        {
            return ApiError.Validation("\"messages\" must contain at least 1 items");
        }

        if (count > MaxItems)
        {
            return ApiError.Validation($"\"messages\" must contain less than or equal to {MaxItems} items");
        }

        if (fields.UnknownFieldError is { } unknownField)
        {
            return unknownField;
        }

        items = [.. list.EnumerateArray()];
        return null;
    }
}
