using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GovSg.Dispatcher.Callbacks;

/// <summary>
/// <c>X-GovSg-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret's UTF-8 bytes, "&lt;t&gt;.&lt;raw body&gt;")&gt;</c>,
/// one <c>v1</c> per valid secret, newest first (SPEC §11.1).
/// </summary>
public static class CallbackSignature
{
    public const string HeaderName = "X-GovSg-Signature";

    public static string Header(long unixSeconds, ReadOnlySpan<byte> body, IReadOnlyList<string> secrets)
    {
        var t = unixSeconds.ToString(CultureInfo.InvariantCulture);
        var signed = new byte[t.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(t, signed);
        signed[t.Length] = (byte)'.';
        body.CopyTo(signed.AsSpan(t.Length + 1));
        var header = new StringBuilder("t=").Append(t);
        foreach (var secret in secrets)
        {
            header.Append(",v1=").Append(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed)));
        }

        return header.ToString();
    }
}
