using GovSg.LoadGenerator.Cli;

namespace GovSg.LoadGenerator.Pipeline;

/// <summary>What the run's messages are waited for before the pipeline figures are read.</summary>
internal enum DrainTarget
{
    /// <summary>No wait and no pipeline figures: the dispatchers are stopped (ingest-only runs).</summary>
    None,

    /// <summary>Every message has left UNSENT.</summary>
    Accepted,

    /// <summary>
    /// Every message has left UNSENT and come to rest at READ or ERROR, and every status event was delivered to its
    /// callback URL (end-to-end runs).
    /// </summary>
    Read,
}

internal static class DrainTargets
{
    public static DrainTarget Parse(string? value, DrainTarget fallback) => value switch
    {
        null => fallback,
        "none" => DrainTarget.None,
        "accepted" => DrainTarget.Accepted,
        "read" => DrainTarget.Read,
        _ => throw new UsageException("--drain / --until must be none, accepted or read"),
    };
}
