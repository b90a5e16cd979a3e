using System.Globalization;
using System.Security.Cryptography;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// Distinct Singapore mobile numbers (8 digits starting with 8 or 9) in a scrambled order. Stepping through the
/// 20,000,000 such numbers by a stride coprime to that count visits each number once, so a run never messages one
/// recipient twice (WhatsApp, and the simulator, limit messages per recipient) without remembering what it has used.
/// </summary>
internal sealed class Recipients
{
    private const long First = 80_000_000;
    private const long Count = 20_000_000;

    // Odd and not a multiple of 5, hence coprime to 20,000,000 = 2^8 · 5^7.
    private const long Stride = 7_368_787;

    private readonly long _offset = RandomNumberGenerator.GetInt32((int)Count);
    private long _issued;

    public string Next()
    {
        var index = Interlocked.Increment(ref _issued);
        return (First + ((_offset + (index * Stride)) % Count)).ToString(CultureInfo.InvariantCulture);
    }
}
