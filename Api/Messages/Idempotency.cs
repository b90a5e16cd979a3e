using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using GovSg.Api.Http;

namespace GovSg.Api.Messages;

/// <summary>
/// The message a single send's <c>Idempotency-Key</c> named when the send limit looked it up (null: none), for the
/// send to use instead of looking the key up again.
/// </summary>
public sealed record IdempotencyLookup(string Key, MessageRow? Earlier);

/// <summary>The <c>Idempotency-Key</c> header and the body fingerprint a replay is compared by (SPEC §3.2).</summary>
public static class Idempotency
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeaderName = "Idempotency-Replayed";
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    public static ApiError InvalidKey() =>
        ApiError.Validation($"\"{HeaderName}\" must be 1 to 255 visible ASCII characters");

    /// <summary>
    /// The request's key, or null without one. Two or more of the header are refused, not joined into one key (as a
    /// comma-separated list would be): a client or proxy that sends two is not saying which one it means.
    /// </summary>
    public static ApiError? ReadKey(HttpRequest request, out string? key)
    {
        var values = request.Headers[HeaderName];
        key = values.Count == 1 ? values[0] : null;
        return values.Count > 1 ? ApiError.Validation($"\"{HeaderName}\" must be sent once") : null;
    }

    /// <summary>1 to 255 visible ASCII characters (0x21–0x7E).</summary>
    public static bool IsValidKey(string key) =>
        key.Length is >= 1 and <= 255 && !key.AsSpan().ContainsAnyExceptInRange('!', '~');

    /// <summary>
    /// SHA-256 of the body re-written canonically, as the old API's <c>JSON.parse</c> read it: object keys sorted (a
    /// repeated key keeps its last value), no whitespace, numbers by their value (<c>3</c>, <c>3.0</c> and <c>3e0</c> are
    /// one number, as JavaScript's doubles), strings unescaped. So <c>1</c> and <c>"1"</c> differ, while key order and
    /// formatting do not.
    /// </summary>
    public static byte[] Fingerprint(JsonElement body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteCanonical(writer, body);
        }

        return SHA256.HashData(buffer.WrittenSpan);
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject()
                             .GroupBy(p => p.Name, StringComparer.Ordinal).Select(g => g.Last())
                             .OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.Number when element.TryGetDouble(out var number) && double.IsFinite(number):
                writer.WriteNumberValue(number);
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
