using System.Globalization;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// The <c>biz_opaque_callback_data</c> every provider call carries (SPEC §5): <c>m:&lt;message id&gt;:&lt;attempt&gt;</c>.
/// Meta echoes it in every status of the message it sent, which ties a status to the call that caused it even when
/// that call's answer never reached us. It holds ids only.
/// </summary>
public static class CallbackData
{
    private const string Prefix = "m:";

    public static string Format(long messageId, int attempt) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{messageId}:{attempt}");

    /// <summary>The message and attempt the data names; false for anything we did not write.</summary>
    public static bool TryParse(string? data, out long messageId, out int attempt)
    {
        messageId = 0;
        attempt = 0;
        if (data is null || !data.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = data[Prefix.Length..].Split(':');
        return parts.Length == 2 &&
               long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out messageId) && messageId > 0 &&
               int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out attempt) && attempt > 0;
    }
}
