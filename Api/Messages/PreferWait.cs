using System.Globalization;

namespace GovSg.Api.Messages;

/// <summary>
/// The RFC 7240 <c>Prefer: wait=&lt;seconds&gt;</c> preference, 1 to 10 seconds. Anything malformed or out of range is
/// ignored, as the RFC asks of a server that cannot honour a preference.
/// </summary>
public static class PreferWait
{
    public const int MaxSeconds = 10;

    public static int? Parse(IEnumerable<string?> headerValues)
    {
        foreach (var header in headerValues)
        {
            foreach (var preference in (header ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                var token = preference.Split(';', 2)[0];
                var parts = token.Split('=', 2, StringSplitOptions.TrimEntries);
                if (!parts[0].Equals("wait", StringComparison.OrdinalIgnoreCase) || parts.Length != 2)
                {
                    continue;
                }

                return int.TryParse(parts[1].Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                       && seconds is >= 1 and <= MaxSeconds
                    ? seconds
                    : null;
            }
        }

        return null;
    }
}
