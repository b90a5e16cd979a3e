using System.Security.Cryptography;
using System.Text;

namespace GovSg.Api.Auth;

/// <summary>
/// The API key format, <c>gsg_&lt;key id&gt;_&lt;secret&gt;</c>: the key id (16 hex digits) finds the row, the secret
/// (64 hex digits, 256 bits) is only ever stored as HMAC-SHA256 under a server-side pepper (SPEC §7).
/// </summary>
public static class ApiKeys
{
    private const string Prefix = "gsg_";
    private const int KeyIdLength = 16;
    private const int SecretLength = 64;
    private const int KeyLength = 4 + KeyIdLength + 1 + SecretLength;

    public static (string PlainText, string KeyId, byte[] SecretHash) Generate(byte[] pepper)
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyIdLength / 2));
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(SecretLength / 2));
        return ($"{Prefix}{keyId}_{secret}", keyId, Hash(pepper, secret));
    }

    /// <summary>What a key listing shows of a key: its last five characters.</summary>
    public static string LastFive(string plainText) => plainText[^5..];

    /// <summary>Whether the text could be a key id at all; anything else names no key.</summary>
    public static bool IsKeyId(string value) => value.Length == KeyIdLength && IsLowerHex(value);

    /// <summary>
    /// What an answer may echo of a text given where a key id belongs: a whole key (pasted by mistake) without its secret,
    /// which is never echoed; anything else as it came.
    /// </summary>
    public static string WithoutSecret(string value) => TryParse(value, out var keyId, out _) ? $"{Prefix}{keyId}_…" : value;

    public static bool TryParse(ReadOnlySpan<char> key, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (key.Length != KeyLength || !key.StartsWith(Prefix, StringComparison.Ordinal) || key[4 + KeyIdLength] != '_')
        {
            return false;
        }

        var id = key.Slice(4, KeyIdLength);
        var secretPart = key[(5 + KeyIdLength)..];
        if (!IsLowerHex(id) || !IsLowerHex(secretPart))
        {
            return false;
        }

        keyId = id.ToString();
        secret = secretPart.ToString();
        return true;
    }

    public static byte[] Hash(byte[] pepper, string secret) => HMACSHA256.HashData(pepper, Encoding.ASCII.GetBytes(secret));

    public static bool Matches(byte[] pepper, string secret, byte[] storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(pepper, secret), storedHash);

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    private static bool IsLowerHex(ReadOnlySpan<char> value) => !value.ContainsAnyExcept(LowerHex);
}
