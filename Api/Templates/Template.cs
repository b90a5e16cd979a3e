namespace GovSg.Api.Templates;

/// <summary>A template as the send path and the listing see it.</summary>
public sealed record Template(
    long Id,
    string Name,
    string WhatsAppTemplateName,
    string Body,
    IReadOnlyList<string> Params,
    string ParamMetadataJson,
    IReadOnlyDictionary<string, string> Translations)
{
    public const string DefaultLanguage = "en_GB";

    /// <summary>Every language an agency may send in, in the order the API lists them, with display names.</summary>
    public static readonly IReadOnlyList<(string Code, string Name)> Languages =
        [(DefaultLanguage, "English"), ("zh_CN", "Chinese"), ("ms", "Malay"), ("ta", "Tamil")];

    public static string? LanguageName(string code)
    {
        foreach (var (known, name) in Languages)
        {
            if (known == code)
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>The body in <paramref name="languageCode"/>, or null when the template is not offered in it.</summary>
    public string? BodyIn(string languageCode) =>
        languageCode == DefaultLanguage ? Body : Translations.GetValueOrDefault(languageCode);
}
