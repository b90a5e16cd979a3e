using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using GovSg.Api.Templates;

namespace GovSg.Api.Admin;

/// <summary>A template as operators write it in a JSON file for <c>admin template import</c>.</summary>
public sealed partial record TemplateDefinition(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("whatsapp_template_name")] string WhatsAppTemplateName,
    [property: JsonPropertyName("body")] string Body,
    [property: JsonPropertyName("params")] IReadOnlyList<string> Params,
    [property: JsonPropertyName("param_metadata")] JsonElement? ParamMetadata,
    [property: JsonPropertyName("multilingual_support")] IReadOnlyList<TranslationDefinition>? MultilingualSupport)
{
    public string ParamMetadataJson => ParamMetadata is { ValueKind: JsonValueKind.Object } metadata ? metadata.GetRawText() : "{}";

    public string TranslationsJson => JsonSerializer.Serialize(
        (MultilingualSupport ?? []).ToDictionary(t => t.LanguageCode, t => t.Body));

    public static IReadOnlyList<TemplateDefinition> Load(string path)
    {
        var templates = JsonSerializer.Deserialize<List<TemplateDefinition>>(File.ReadAllText(path))
            ?? throw new InvalidOperationException($"{path} holds no templates");
        foreach (var template in templates)
        {
            template.Validate();
        }

        if (templates.GroupBy(t => t.Id).FirstOrDefault(g => g.Count() > 1) is { } repeated)
        {
            throw new InvalidOperationException($"Template {repeated.Key} is given twice");
        }

        return templates;
    }

    private void Validate()
    {
        if (Id <= 0 || string.IsNullOrWhiteSpace(Name) || string.IsNullOrWhiteSpace(WhatsAppTemplateName) ||
            string.IsNullOrWhiteSpace(Body) || Params is null)
        {
            throw new InvalidOperationException(
                $"Template {Id}: id (positive), name, whatsapp_template_name, body and params are required");
        }

        var bodies = new List<(string Language, string Body)> { (Template.DefaultLanguage, Body) };
        foreach (var translation in MultilingualSupport ?? [])
        {
            if (translation.LanguageCode == Template.DefaultLanguage || Template.LanguageName(translation.LanguageCode) is null)
            {
                throw new InvalidOperationException(
                    $"Template {Id}: language {translation.LanguageCode} is not one of the additional languages zh_CN, ms, ta");
            }

            if (bodies.Any(b => b.Language == translation.LanguageCode))
            {
                throw new InvalidOperationException($"Template {Id}: language {translation.LanguageCode} is given twice");
            }

            bodies.Add((translation.LanguageCode, translation.Body));
        }

        foreach (var (language, body) in bodies)
        {
            var placeholders = Placeholder().Matches(body).Select(m => m.Groups[1].Value).ToHashSet();
            if (!placeholders.SetEquals(Params))
            {
                throw new InvalidOperationException(
                    $"Template {Id} ({language}): the body's placeholders [{string.Join(", ", placeholders)}] " +
                    $"differ from params [{string.Join(", ", Params)}]");
            }
        }
    }

    [GeneratedRegex(@"\{\{(\w+)\}\}")]
    private static partial Regex Placeholder();
}

public sealed record TranslationDefinition(
    [property: JsonPropertyName("language_code")] string LanguageCode,
    [property: JsonPropertyName("body")] string Body);
