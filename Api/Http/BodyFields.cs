using System.Text.Json;

namespace GovSg.Api.Http;

/// <summary>
/// The fields of a request body (SPEC §3), read the one way every route reads them, with the old API's messages: the
/// body must be an object; a field given twice keeps its last value, as its JSON.parse did; and the first field the
/// route does not know, in body order, is refused once the known fields have passed their own checks.
/// </summary>
public sealed class BodyFields
{
    private readonly Dictionary<string, JsonElement> _known = new(StringComparer.Ordinal);
    private string? _unknown;

    private BodyFields()
    {
    }

    /// <summary>The body's fields of <paramref name="names"/>; null, with the error, when the body is not an object.</summary>
    public static BodyFields? Read(JsonElement body, IReadOnlyCollection<string> names, out ApiError? error)
    {
        error = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            error = ApiError.Validation("\"value\" must be of type object");
            return null;
        }

        var fields = new BodyFields();
        foreach (var property in body.EnumerateObject())
        {
            if (names.Contains(property.Name))
            {
                fields._known[property.Name] = property.Value;
            }
            else
            {
                fields._unknown ??= property.Name;
            }
        }

        return fields;
    }

    /// <summary>The field's value; null when the body does not have it.</summary>
    public JsonElement? this[string name] => _known.TryGetValue(name, out var value) ? value : null;

    /// <summary>The refusal of the first field not known; null when there is none.</summary>
    public ApiError? UnknownFieldError => _unknown is null ? null : ApiError.Validation($"\"{_unknown}\" is not allowed");
}
