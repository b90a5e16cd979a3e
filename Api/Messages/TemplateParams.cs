using System.Text;
using GovSg.Api.Http;
using GovSg.Api.Templates;

namespace GovSg.Api.Messages;

/// <summary>Check 5 of SPEC §3.2: the given params against the template, and what WhatsApp would refuse.</summary>
public static class TemplateParams
{
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

    /// <summary>Why WhatsApp would refuse this parameter text (error 132018 or 132005), or null.</summary>
    public static string? ValueError(string value)
    {
        if (value.Length > MaxLength)
        {
            return $"length must be less than or equal to {MaxLength} characters long";
        }

        if (value.AsSpan().IndexOfAny('\n', '\r', '\t') >= 0)
        {
            return "must not contain newlines or tabs";
        }

        return value.Contains("     ", StringComparison.Ordinal) ? "must not contain more than 4 consecutive spaces" : null;
    }

    public static string Fill(string body, IReadOnlyList<KeyValuePair<string, string>> values)
    {
        var filled = new StringBuilder(body);
        foreach (var (name, value) in values)
        {
            filled.Replace("{{" + name + "}}", value);
        }

        return filled.ToString();
    }
}
