namespace GovSg.WhatsAppSimulator.Recipients;

internal static class RecipientNumber
{
    /// <summary>
    /// Meta takes <c>to</c> with or without a leading <c>+</c> and reports the bare digits as <c>wa_id</c>; rules,
    /// history and webhooks are keyed by those digits.
    /// </summary>
    public static bool TryGetWaId(string to, out string waId)
    {
        var digits = to.StartsWith('+') ? to[1..] : to;
        waId = digits;
        return digits.Length is >= 7 and <= 15 && digits.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0;
    }
}
