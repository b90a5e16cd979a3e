using System.Security.Cryptography;
using System.Text;

namespace GovSg.Api.Webhooks;

/// <summary><c>X-Hub-Signature-256: sha256=&lt;hex HMAC-SHA256(app secret, raw body)&gt;</c>, compared in constant time.</summary>
public static class WebhookSignature
{
    public const string HeaderName = "X-Hub-Signature-256";
    private const string Prefix = "sha256=";

    /// <summary>The digest a header claims, or null when it is missing or not <c>sha256=</c> and 64 hex digits.</summary>
    public static byte[]? Parse(string? header)
    {
        if (header is null || !header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || header.Length != Prefix.Length + 64)
        {
            return null;
        }

        try
        {
            return Convert.FromHexString(header.AsSpan(Prefix.Length));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="claimed"/> (from <see cref="Parse"/>) is the body's HMAC under one of the secrets.</summary>
    public static bool Matches(byte[] claimed, ReadOnlySpan<byte> body, IEnumerable<string> secrets)
    {
        var valid = false;
        foreach (var secret in secrets)
        {
            // Every secret is checked, so timing does not tell which one (if any) matched.
            valid |= CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body), claimed);
        }

        return valid;
    }

    /// <summary>
    /// Compares SHA-256 digests, which always have the same length: comparing the tokens themselves would end at once
    /// on a length mismatch and so tell an attacker the configured token's length.
    /// </summary>
    public static bool TokenMatches(string? given, string expected) =>
        given is not null && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
