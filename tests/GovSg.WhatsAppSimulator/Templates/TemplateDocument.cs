using System.Collections.Frozen;

namespace GovSg.WhatsAppSimulator.Templates;

/// <summary>
/// One template as deploy/local/templates.json and the product's template object describe it; only the fields
/// Meta's checks depend on are read.
/// </summary>
internal sealed record TemplateDocument(
    string? WhatsappTemplateName,
    IReadOnlyList<string>? Params,
    IReadOnlyList<TemplateLanguageDocument>? MultilingualSupport)
{
    /// <summary>en_GB is every template's own language; the others are its translations.</summary>
    public SimulatedTemplate ToTemplate(string name)
    {
        var languages = (MultilingualSupport ?? []).Select(translation => translation.LanguageCode).Append("en_GB");
        return new SimulatedTemplate(name, Params?.Count ?? 0, languages.ToFrozenSet(StringComparer.Ordinal));
    }
}

internal sealed record TemplateLanguageDocument(string LanguageCode);
