using System.Globalization;

namespace GovSg.LoadGenerator.Reporting;

/// <summary>How numbers are printed: thousands separated, a dash where there is no figure.</summary>
internal static class Figures
{
    private const string None = "-";

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Rate(double? perSecond) => perSecond?.ToString("N1", CultureInfo.InvariantCulture) ?? None;

    public static string Milliseconds(double? value) => value?.ToString("N1", CultureInfo.InvariantCulture) ?? None;

    public static string Milliseconds(TimeSpan? value) => Milliseconds(value?.TotalMilliseconds);

    public static string Seconds(TimeSpan? value) => value?.TotalSeconds.ToString("N1", CultureInfo.InvariantCulture) ?? None;

    public static string Precise(double value) => value.ToString("N2", CultureInfo.InvariantCulture);

    public static string Cores(double value) => value.ToString("N3", CultureInfo.InvariantCulture);

    public static string Ratio(double? part, double whole) =>
        part is { } value && whole > 0 ? (value / whole).ToString("N3", CultureInfo.InvariantCulture) : None;
}
