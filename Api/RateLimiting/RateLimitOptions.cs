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

    /// <summary>
    /// The most of one user's reads an Api runs at once (<see cref="ReadSlots"/>). Each takes a database connection while
    /// it runs; an honest agency's reads take milliseconds, so a few at once carry its whole read limit.
    /// </summary>
    [Range(1, 10_000)]
    public int ConcurrentReadsPerUser { get; set; } = 8;

    /// <summary>
    /// A user's reads waiting for one of its slots; beyond, 503. A waiting read holds no connection, and the read limit
    /// lets at most <see cref="ReadBurst"/> arrive at once: the default refuses only a caller far past its own limit.
    /// </summary>
    [Range(0, 1_000_000)]
    public int QueuedReadsPerUser { get; set; } = 1_000;
}
