using System.Text.RegularExpressions;

namespace GovSg.LoadGenerator.Cli;

/// <summary>A run id names the run's users (in their agency), so a later <c>drain</c> or <c>discard</c> finds them.</summary>
internal static partial class RunIds
{
    public static string From(CommandLine line, TimeProvider time)
    {
        var runId = line.String("run-id") ?? time.GetUtcNow().ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
        return Pattern().IsMatch(runId) ? runId : throw new UsageException("--run-id may hold letters, digits and '-' only (at most 40)");
    }

    public static string Required(CommandLine line) =>
        line.String("run-id") is { } runId && Pattern().IsMatch(runId) ? runId : throw new UsageException("--run-id <id of the send run> is required");

    [GeneratedRegex("^[A-Za-z0-9-]{1,40}$")]
    private static partial Regex Pattern();
}
