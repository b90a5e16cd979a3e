namespace GovSg.Hosting;

internal static class TimeExtensions
{
    /// <summary>
    /// Stored timestamps carry milliseconds only, as the API prints them, so a <c>created_at[gt]</c> filter built from a
    /// printed value never matches the same message again.
    /// </summary>
    public static DateTime TruncateToMilliseconds(this DateTime value) =>
        new(value.Ticks - value.Ticks % TimeSpan.TicksPerMillisecond, value.Kind);
}
