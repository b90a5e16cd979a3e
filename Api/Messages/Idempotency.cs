using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using GovSg.Api.Http;

namespace GovSg.Api.Messages;

/// <summary>
/// What a single send's <c>Idempotency-Key</c> named when the send limit looked it up, for the send to use instead of
/// looking the key up again.
/// </summary>
public sealed record IdempotencyLookup(string Key, KeyHolders Holders);

/// <summary>The <c>Idempotency-Key</c> header and the body fingerprint a replay is compared by (SPEC §3.2).</summary>
public static class Idempotency
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeaderName = "Idempotency-Replayed";
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>
    /// The SQL of a key's turn, which a single send and a batch storing under one key both take first, on every Api: one
    /// key names one request across both routes (SPEC §3.8), but each route's table holds its own keys, so each looks
    /// for the other route's holder in a statement after its turn came (a statement sees what committed before it
    /// began). The turn is a transaction-level advisory lock of class 2 (class 1 is a user's API keys), held until the
    /// storing transaction ends; this is its key.
    /// </summary>
    public static string TurnKeySql(string userId, string keyType, string key) =>
        $"hashtext({userId}::text || '/' || {keyType} || '/' || {key})";

    /// <summary>The SQL that takes the turn whose key (<see cref="TurnKeySql"/>) is <paramref name="turnKey"/>.</summary>
    public static string TakeTurnSql(string turnKey) => $"pg_advisory_xact_lock(2, {turnKey})";

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
    /// SHA-256 of the body re-written canonically, as it reads once parsed: object keys sorted (a repeated key keeps its
    /// last value, as the old API's <c>JSON.parse</c> kept it), no whitespace, strings unescaped, and numbers by their
    /// exact value (<c>3</c>, <c>3.0</c> and <c>3e0</c> are one number; <c>2.0000000000000001</c>, which the send checks
    /// refuse as no integer, is another). So <c>1</c> and <c>"1"</c> differ, while key order and formatting do not.
    /// </summary>
    public static BodyFingerprint Fingerprint(JsonElement body) => new(body, Hash(body, numbersByValue: true));

    /// <summary>
    /// With <paramref name="numbersByValue"/> false, numbers are kept as written: the fingerprint stored before
    /// 2026-12-02, which keys of the 24 h before an upgrade still carry.
    /// </summary>
    internal static byte[] Hash(JsonElement body, bool numbersByValue)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteCanonical(writer, body, numbersByValue);
        }

        return SHA256.HashData(buffer.WrittenSpan);
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement element, bool numbersByValue)
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
                    WriteCanonical(writer, property.Value, numbersByValue);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(writer, item, numbersByValue);
                }

                writer.WriteEndArray();
                break;
            // Read as the send checks read numbers (exactly, as a decimal), trailing zeros dropped; a number beyond a
            // decimal stays as written.
            case JsonValueKind.Number when numbersByValue && element.TryGetDecimal(out var number):
                writer.WriteNumberValue(number / 1.0000000000000000000000000000m);
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}

/// <summary>A body's fingerprint, and whether a stored one is this body's (SPEC §3.2).</summary>
public sealed class BodyFingerprint(JsonElement body, byte[] hash)
{
    /// <summary>What a new message or batch stores.</summary>
    public byte[] Hash { get; } = hash;

    /// <summary>
    /// Whether <paramref name="stored"/> fingerprints this body, also when it was stored before numbers were compared by
    /// value: a retry of the very same bytes replays through an upgrade.
    /// </summary>
    public bool Matches(byte[] stored) =>
        stored.AsSpan().SequenceEqual(Hash) || stored.AsSpan().SequenceEqual(Idempotency.Hash(body, numbersByValue: false));
}
