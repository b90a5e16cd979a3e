using System.Buffers.Text;
using System.Security.Cryptography;

namespace GovSg.WhatsAppSimulator.Messages;

/// <summary>Ids shaped like Meta's, random enough that tests and benchmarks never see a collision.</summary>
internal static class ProviderIds
{
    public static string NewWamid() => "wamid." + Convert.ToBase64String(RandomBytes(stackalloc byte[24]));

    public static string NewConversationId() => Convert.ToHexStringLower(RandomBytes(stackalloc byte[16]));

    public static string NewFbTraceId() => Base64Url.EncodeToString(RandomBytes(stackalloc byte[9]));

    private static Span<byte> RandomBytes(Span<byte> buffer)
    {
        RandomNumberGenerator.Fill(buffer);
        return buffer;
    }
}
