using System.Globalization;

namespace GovSg.Tests.Integration;

/// <summary>Fresh Singapore mobile numbers, so no two tests (or runs) share a recipient at the simulator.</summary>
public static class TestRecipients
{
    private static int _next = Random.Shared.Next(0, 5_000_000);

    /// <summary>A number as an agency sends it (8 digits) and as WhatsApp sees it (with 65).</summary>
    public static (string Local, string Digits) Next()
    {
        var local = "8" + (Interlocked.Increment(ref _next) % 10_000_000).ToString("D7", CultureInfo.InvariantCulture);
        return (local, "65" + local);
    }
}
