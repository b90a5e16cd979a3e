using System.Text.Json;

namespace GovSg.Hosting;

/// <summary>Strings from the provider's JSON, which is parsed as it comes and may hold text .NET cannot read.</summary>
public static class JsonText
{
    /// <summary>
    /// A string value, or null when it is not a string or not readable text (an escaped lone surrogate, bytes that are
    /// not UTF-8: valid enough for the parser, refused by <see cref="JsonElement.GetString"/>). The reader treats it as a
    /// missing field, so one unreadable field costs nothing else.
    /// </summary>
    public static string? ReadableString(this JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
