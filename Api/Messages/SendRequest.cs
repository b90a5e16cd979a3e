using System.Text.Json;
using GovSg.Api.Http;
using GovSg.Api.Templates;

namespace GovSg.Api.Messages;

/// <summary>A send request whose shape is valid (SPEC §3.2 check 1); params keep the order they were given in.</summary>
public sealed record SendRequest(
    string Recipient,
    long TemplateId,
    IReadOnlyList<KeyValuePair<string, string>> Params,
    string LanguageCode)
{
    /// <summary>The most params a send may carry (SPEC §3.2).</summary>
    public const int MaxParams = 100;

    /// <summary>The largest <c>template_id</c> a JSON number holds exactly (2^53 - 1), as the old API's Joi allowed.</summary>
    public const long MaxSafeInteger = 9_007_199_254_740_991;

    private static readonly string[] Fields = ["recipient", "template_id", "params", "language_code"];

    /// <summary>
    /// Checks the body's shape with the old API's messages. When several things are wrong the first field of
    /// recipient, template_id, params, language_code wins, then unknown fields in body order. A repeated field keeps
    /// its last value, as JSON.parse did in the old API.
    /// </summary>
    public static ApiError? TryParse(JsonElement body, out SendRequest? request)
    {
        request = null;
        if (BodyFields.Read(body, Fields, out var shapeError) is not { } fields)
        {
            return shapeError;
        }

        var recipientError = ParseRecipient(fields["recipient"], out var recipientValue);
        var templateIdError = ParseTemplateId(fields["template_id"], out var templateIdValue);
        var paramsError = ParseParams(fields["params"], out var paramsValue);
        var languageError = ParseLanguageCode(fields["language_code"], out var languageValue);
        if ((recipientError ?? templateIdError ?? paramsError ?? languageError ?? fields.UnknownFieldError) is { } error)
        {
            return error;
        }

        request = new SendRequest(recipientValue, templateIdValue, paramsValue, languageValue);
        return null;
    }

    private static ApiError? ParseRecipient(JsonElement? value, out string recipient)
    {
        recipient = "";
        if (value is not { } element)
        {
            return ApiError.Validation("\"recipient\" is required");
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return ApiError.Validation("\"recipient\" must be a string");
        }

        recipient = element.GetString()!;
        return recipient.Length == 0 ? ApiError.Validation("\"recipient\" is not allowed to be empty") : null;
    }

    private static ApiError? ParseTemplateId(JsonElement? value, out long templateId)
    {
        templateId = 0;
        if (value is not { } element)
        {
            return ApiError.Validation("\"template_id\" is required");
        }

        decimal number;
        switch (element.ValueKind)
        {
            case JsonValueKind.Number when element.TryGetDecimal(out number):
                break;
            case JsonValueKind.Number:
                return ApiError.Validation("\"template_id\" must be a safe number");
            case JsonValueKind.String when IsDigits(element.GetString()!):
                if (!decimal.TryParse(element.GetString(), out number))
                {
                    return ApiError.Validation("\"template_id\" must be a safe number");
                }

                break;
            default:
                return ApiError.Validation("\"template_id\" must be a number");
        }

        if (number != decimal.Truncate(number))
        {
            return ApiError.Validation("\"template_id\" must be an integer");
        }

        if (number > MaxSafeInteger || number < -MaxSafeInteger)
        {
            return ApiError.Validation("\"template_id\" must be a safe number");
        }

        if (number <= 0)
        {
            return ApiError.Validation("\"template_id\" must be a positive number");
        }

        templateId = (long)number;
        return null;
    }

    private static ApiError? ParseParams(JsonElement? value, out IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        parameters = [];
        if (value is not { } element)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return ApiError.Validation("\"params\" must be an object");
        }

        // A repeated name keeps its first place and its last value, as JSON.parse read it, and only that value is
        // checked; the index makes that linear in the body's size.
        var named = new List<(string Name, JsonElement Value)>();
        var places = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (places.TryGetValue(property.Name, out var place))
            {
                named[place] = (property.Name, property.Value);
                continue;
            }

            places.Add(property.Name, named.Count);
            named.Add((property.Name, property.Value));
        }

        var list = new List<KeyValuePair<string, string>>(Math.Min(named.Count, MaxParams));
        foreach (var (name, given) in named)
        {
            if (list.Count == MaxParams)
            {
                return ApiError.Validation($"\"params\" must have less than or equal to {MaxParams} keys");
            }

            if (given.ValueKind != JsonValueKind.String)
            {
                return ApiError.Validation($"\"params.{name}\" must be a string");
            }

            if (given.GetString() is not { Length: > 0 } text)
            {
                return ApiError.Validation($"\"params.{name}\" is not allowed to be empty");
            }

            list.Add(new(name, text));
        }

        parameters = list;
        return null;
    }

    private static ApiError? ParseLanguageCode(JsonElement? value, out string languageCode)
    {
        languageCode = Template.DefaultLanguage;
        if (value is not { } element)
        {
            return null;
        }

        if (element.ValueKind == JsonValueKind.String && Template.LanguageName(element.GetString()!) is not null)
        {
            languageCode = element.GetString()!;
            return null;
        }

        return ApiError.Validation($"\"language_code\" must be one of [{string.Join(", ", Template.Languages.Select(l => l.Code))}]");
    }

    private static bool IsDigits(string value) => value.Length > 0 && !value.AsSpan().ContainsAnyExceptInRange('0', '9');
}
