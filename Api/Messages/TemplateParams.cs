using System.Buffers;
using System.Text.RegularExpressions;
using GovSg.Api.Http;
using GovSg.Api.Templates;

namespace GovSg.Api.Messages;

/// <summary>Check 5 of SPEC §3.2: the given params against the template, and what WhatsApp would refuse.</summary>
public static partial class TemplateParams
{
    /// <summary>
    /// Counted in UTF-16 code units, as the old API's checks counted JavaScript strings: a text it took is taken, and one
    /// it refused is refused (an emoji outside the Basic Multilingual Plane counts two). Key labels count the same way.
    /// </summary>
    public const int MaxLength = 1024;

    public static ApiError? Validate(Template template, string body, IReadOnlyList<KeyValuePair<string, string>> given)
    {
        if (given.Count == 0 && template.Params.Count > 0)
        {
            return ApiError.Validation($"No params provided; params needed for template {template.Id}");
        }

        if (given.Count > 0 && template.Params.Count == 0)
        {
            return ApiError.Validation($"Template {template.Id} does not accept any params");
        }

        var missing = template.Params.Where(name => !given.Any(p => p.Key == name)).ToList();
        if (missing.Count > 0)
        {
            return ApiError.Validation($"Missing values for params {string.Join(", ", missing)}");
        }

        var unexpected = given.Where(p => !template.Params.Contains(p.Key)).Select(p => p.Key).ToList();
        if (unexpected.Count > 0)
        {
            return ApiError.Validation($"Unexpected params for template {template.Id}: {string.Join(", ", unexpected)}");
        }

        foreach (var (name, value) in given)
        {
            if (ValueError(value) is { } problem)
            {
                return ApiError.Validation($"\"params.{name}\" {problem}");
            }
        }

        return Fill(body, given).Length > MaxLength
            ? ApiError.Validation($"Template {template.Id} with these params exceeds {MaxLength} characters")
            : null;
    }

    // Every character that breaks a line (Unicode's mandatory breaks), and the tabs.
    private static readonly SearchValues<char> LineBreaksAndTabs = SearchValues.Create("\n\r\t\v\f\u0085\u2028\u2029");

    /// <summary>Why WhatsApp would refuse this parameter text (error 132018 or 132005), or null.</summary>
    public static string? ValueError(string value)
    {
        if (value.Length > MaxLength)
        {
            return $"length must be less than or equal to {MaxLength} characters long";
        }

        if (value.AsSpan().IndexOfAny(LineBreaksAndTabs) >= 0)
        {
            return "must not contain newlines or tabs";
        }

        if (value.Any(char.IsControl))
        {
            return "must not contain control characters";
        }

        return value.Contains("     ", StringComparison.Ordinal) ? "must not contain more than 4 consecutive spaces" : null;
    }

    /// <summary>
    /// The text WhatsApp shows: each <c>{{name}}</c> of the body replaced by its value, in one pass, so a value that
    /// itself contains a placeholder is shown as written, not expanded again. Unknown placeholders stay as they are.
    /// </summary>
    public static string Fill(string body, IReadOnlyList<KeyValuePair<string, string>> values) =>
        Placeholder().Replace(body, match =>
            values.FirstOrDefault(p => p.Key == match.Groups[1].Value) is { Key: not null } given ? given.Value : match.Value);

    [GeneratedRegex(@"\{\{([^{}]+)\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
