using System.Globalization;

namespace GovSg.Api.Messages;

/// <summary>
/// The RFC 7240 <c>Prefer: wait=&lt;seconds&gt;</c> preference, 1 to 10 seconds. Anything malformed or out of range is
/// ignored, as the RFC asks of a server that cannot honour a preference. <c>Prefer: respond-async</c> asks for the answer
/// at once, which no wait the request did not ask for (the user's default) may hold up.
/// </summary>
public static class PreferWait
{
    public const int MaxSeconds = 10;

    public static int? Parse(IEnumerable<string?> headerValues)
    {
        foreach (var (name, value) in Preferences(headerValues))
        {
            if (name.Equals("wait", StringComparison.OrdinalIgnoreCase) && value is not null)
            {
                return int.TryParse(value.Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                       && seconds is >= 1 and <= MaxSeconds
                    ? seconds
                    : null;
            }
        }

        return null;
    }

    public static bool RespondAsync(IEnumerable<string?> headerValues) =>
        Preferences(headerValues).Any(p => p.Name.Equals("respond-async", StringComparison.OrdinalIgnoreCase) && p.Value is null);

    /// <summary>Each preference's name and value (none when it has no <c>=</c>), its parameters left out.</summary>
    private static IEnumerable<(string Name, string? Value)> Preferences(IEnumerable<string?> headerValues)
    {
        foreach (var header in headerValues)
        {
            foreach (var preference in (header ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                var parts = preference.Split(';', 2)[0].Split('=', 2, StringSplitOptions.TrimEntries);
                yield return (parts[0], parts.Length == 2 ? parts[1] : null);
            }
        }
    }
}
