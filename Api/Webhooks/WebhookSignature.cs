using System.Security.Cryptography;
using System.Text;

namespace GovSg.Api.Webhooks;

/// <summary><c>X-Hub-Signature-256: sha256=&lt;hex HMAC-SHA256(app secret, raw body)&gt;</c>, compared in constant time.</summary>
public static class WebhookSignature
{
    public const string HeaderName = "X-Hub-Signature-256";
    private const string Prefix = "sha256=";

    public static bool IsValid(string? header, ReadOnlySpan<byte> body, IEnumerable<string> secrets)
    {
        if (header is null || !header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || header.Length != Prefix.Length + 64)
        {
            return false;
        }

        byte[] expected;
        try
        {
            expected = Convert.FromHexString(header.AsSpan(Prefix.Length));
        }
        catch (FormatException)
        {
            return false;
        }

        var valid = false;
        foreach (var secret in secrets)
        {
            // Every secret is checked, so timing does not tell which one (if any) matched.
            valid |= CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body), expected);
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
