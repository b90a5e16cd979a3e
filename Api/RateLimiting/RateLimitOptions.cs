using System.ComponentModel.DataAnnotations;

namespace GovSg.Api.RateLimiting;

public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Read tokens a user regains per second (SPEC §7: gets, lists, templates, key reads, replays).</summary>
    [Range(1, 1_000_000)]
    public int ReadsPerSecond { get; set; } = 50;

    /// <summary>The most read tokens a user can hold.</summary>
    [Range(1, 1_000_000)]
    public int ReadBurst { get; set; } = 100;
}
