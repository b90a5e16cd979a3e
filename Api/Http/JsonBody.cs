using System.Text.Json;

namespace GovSg.Api.Http;

/// <summary>
/// Parses a request body as JSON. An agency's body is refused when it holds what <see cref="JsonDocument"/> accepts but
/// cannot hand back as text: bytes that are not UTF-8 and escaped lone surrogates inside strings or property names.
/// Those would otherwise surface later, as an exception when a value is read. A provider's body is taken as it is,
/// and its reader skips such strings (<c>JsonText.ReadableString</c>).
/// </summary>
public static class JsonBody
{
    /// <summary>The document, or null when the body is not JSON whose every string is readable text.</summary>
    public static JsonDocument? Parse(byte[] utf8) => Parse(utf8, readableTextOnly: true);

    /// <summary>
    /// The document, or null when the body is not JSON; a string that is not readable text is left for its reader to
    /// skip. For a provider's body, where one unreadable field must not cost the rest (SPEC §6: every status).
    /// </summary>
    public static JsonDocument? ParseAllowingUnreadableText(byte[] utf8) => Parse(utf8, readableTextOnly: false);

    private static JsonDocument? Parse(byte[] utf8, bool readableTextOnly)
    {
        ReadOnlyMemory<byte> body = utf8;
        if (body.Span.StartsWith("\uFEFF"u8))
        {
            body = body[3..];
        }

        if (readableTextOnly && !HasReadableText(body.Span))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool HasReadableText(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
                {
                    reader.GetString();
                }
            }

            return true;
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
