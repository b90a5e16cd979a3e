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
        if (body.ValueKind != JsonValueKind.Object)
        {
            return ApiError.Validation("\"value\" must be of type object");
        }

        JsonElement? messages = null;
        string? unknown = null;
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name == "messages")
            {
                messages = property.Value;
            }
            else
            {
                unknown ??= property.Name;
            }
        }

        if (messages is not { } list)
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

        if (unknown is not null)
        {
            return ApiError.Validation($"\"{unknown}\" is not allowed");
        }

        items = [.. list.EnumerateArray()];
        return null;
    }
}
